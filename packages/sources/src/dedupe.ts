import { createHash } from 'node:crypto';
import { denefitsDedupeKey, denefitsEventType } from './denefits/dedupe';
import type { Source } from './domain';
import { ghlDedupeKey, ghlEventType } from './ghl/dedupe';
import { manyChatDedupeKey, manyChatEventType } from './manychat/dedupe';
import { isRecord, type JsonRecord } from './payload';
import { perspectiveDedupeKey, perspectiveEventType } from './perspective/dedupe';
import { stripeDedupeKey, stripeEventType } from './stripe/dedupe';

/** Each provider's readers (`<provider>/dedupe.ts`); `undefined` when the event does not say. */
const keyReaders: Record<
  Source,
  { eventType: (event: JsonRecord) => string | undefined; dedupeKey: (event: JsonRecord) => string | undefined }
> = {
  stripe: { eventType: stripeEventType, dedupeKey: stripeDedupeKey },
  ghl: { eventType: ghlEventType, dedupeKey: ghlDedupeKey },
  manychat: { eventType: manyChatEventType, dedupeKey: manyChatDedupeKey },
  denefits: { eventType: denefitsEventType, dedupeKey: denefitsDedupeKey },
  perspective: { eventType: perspectiveEventType, dedupeKey: perspectiveDedupeKey },
};

/** `sha256:<hex>` of the exact raw body: the dedupe key when the provider gives no event id. */
export function bodyHashKey(rawBody: Uint8Array): string {
  return `sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
}

/**
 * Provider event type for `webhook_logs.event_type` (best effort at intake; the worker's normalizer
 * has the final word). Null when the payload names none.
 */
export function eventTypeOf(source: Source, event: unknown): string | null {
  return isRecord(event) ? (keyReaders[source].eventType(event) ?? null) : null;
}

/**
 * `dedupe_key` of one delivery (SPEC §3): the provider's own event id where one exists — Stripe
 * `event.id`, GHL `webhookId`, Perspective `id` + trigger, Denefits contract code + webhook type +
 * payment number — otherwise the SHA-256 of the raw body, so retries of one delivery always collide.
 * `event` is the parsed event (a JSON array's first element). Pure and total.
 */
export function dedupeKeyOf(source: Source, event: unknown, rawBody: Uint8Array): string {
  return (isRecord(event) ? keyReaders[source].dedupeKey(event) : undefined) ?? bodyHashKey(rawBody);
}
