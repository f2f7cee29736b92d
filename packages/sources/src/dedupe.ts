import { createHash } from 'node:crypto';
import { denefitsPaymentNumber } from './denefits/normalize';
import type { Source } from './types';

type Obj = Record<string, unknown>;

const asObj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

/** A non-empty string or finite number as a string, else undefined. */
function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** First non-empty value among `keys` on any of `objs`. */
function pick(objs: Array<Obj | undefined>, keys: string[]): string | undefined {
  for (const o of objs) {
    if (!o) continue;
    for (const k of keys) {
      const v = str(o[k]);
      if (v) return v;
    }
  }
  return undefined;
}

/** `sha256:<hex>` of the exact raw body: the dedupe key when the provider gives no event id. */
export function bodyHashKey(rawBody: Uint8Array): string {
  return `sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
}

function denefitsParts(event: Obj) {
  const data = asObj(event.data);
  const contract = asObj(event.contract) ?? asObj(data?.contract);
  const payment = asObj(event.payment) ?? asObj(data?.payment);
  const scopes = [event, data, contract, payment];
  return {
    type: pick([event, data], ['webhook_type', 'type', 'event', 'event_type']),
    code: pick(scopes, ['contract_code', 'contractCode', 'code']),
    paymentNumber: pick(scopes, ['payment_number', 'paymentNumber', 'installment_number', 'payment_no']),
    status: pick([event, data, contract], ['status', 'contract_status']),
  };
}

/**
 * Provider event type for `webhook_logs.event_type` (best effort at intake; the worker's normalizer
 * has the final word). Null when the payload names none.
 */
export function eventTypeOf(source: Source, event: unknown): string | null {
  const e = asObj(event);
  if (!e) return null;
  switch (source) {
    case 'stripe':
      return str(e.type) ?? null;
    case 'ghl':
      return pick([asObj(e.customData), e], ['event_type']) ?? str(e.type) ?? null;
    case 'manychat':
      return str(e.event_type) ?? null;
    case 'denefits':
      return denefitsParts(e).type ?? null;
    case 'perspective':
      return pick([e], ['trigger', 'event', 'type', 'event_type']) ?? null;
  }
}

/**
 * `dedupe_key` of one delivery (SPEC §3): the provider's own event id where one exists — Stripe
 * `event.id`, GHL `webhookId`, Perspective `id` + trigger, Denefits contract code + webhook type +
 * payment number — otherwise the SHA-256 of the raw body, so retries of one delivery always collide.
 * `event` is the parsed event (a JSON array's first element). Pure and total.
 */
export function dedupeKeyOf(source: Source, event: unknown, rawBody: Uint8Array): string {
  const e = asObj(event);
  if (e) {
    switch (source) {
      case 'stripe': {
        const id = str(e.id);
        if (id) return id;
        break;
      }
      case 'ghl': {
        const id = str(e.webhookId);
        if (id) return `webhook:${id}`;
        break;
      }
      case 'perspective': {
        const id = str(e.id);
        const trigger = eventTypeOf('perspective', e);
        if (id) return trigger ? `${id}:${trigger}` : id;
        break;
      }
      case 'denefits': {
        const p = denefitsParts(e);
        if (p.code && p.type) {
          let key = `${p.code}:${p.type}`;
          // Make.com relays carry no payment number: the instalment is derived from the contract's
          // number_of_payments − remaining_payments, exactly as the normalizer keys the payment.
          const paymentNumber = p.paymentNumber ?? (p.type.includes('recurring') ? denefitsPaymentNumber(e) : undefined);
          if (paymentNumber !== undefined) key += `:${paymentNumber}`;
          // Each status change of a contract is its own event; without it a later change would be a "duplicate".
          else if (p.type.endsWith('status') && p.status) key += `:${p.status}`;
          return key;
        }
        break;
      }
      case 'manychat':
        break;
    }
  }
  return bodyHashKey(rawBody);
}
