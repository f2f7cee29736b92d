import { testSeed } from '@mcb/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { funnelEventTypes, paymentCategories, type Source, sources } from './domain';
import { normalizeManyChatSubscriber } from './manychat/normalize';
import { normalizeWebhook } from './normalize';
import { isRecord } from './payload';
import { guardNormalizer, type NormalizerConfig } from './result';
import { listFixtures } from './test-fixtures';
import type { NormalizeResult } from './types';

// One printed seed for every property below (fast-check also reports it with any counterexample).
fc.configureGlobal({ seed: testSeed('sources property tests') });

const isoTime = (value: unknown) => typeof value === 'string' && !Number.isNaN(Date.parse(value)) && value.endsWith('Z');
const nonEmpty = (value: unknown) => typeof value === 'string' && value.length > 0;

/** Every invariant a consumer of `NormalizeResult` relies on; returns the first broken one. */
function violation(result: NormalizeResult): string | undefined {
  if (!isRecord(result)) return 'not an object';
  // The guard exists for safety; a normalizer that needed it has a bug, so the property fails on it.
  if (result.kind === 'invalid' && / normalizer failed: /.test(result.reason)) return `guard fired: ${result.reason}`;
  if (result.kind === 'ignored' || result.kind === 'invalid') return nonEmpty(result.reason) ? undefined : 'empty reason';
  if (result.kind === 'needs_fetch') return nonEmpty(result.subscriberId) ? undefined : 'empty subscriberId';
  if (result.kind !== 'events') return `unknown kind ${String((result as { kind: unknown }).kind)}`;
  if (result.events.length === 0) return 'no events';
  for (const event of result.events) {
    if (!sources.includes(event.source)) return 'bad source';
    if (!nonEmpty(event.eventType)) return 'empty eventType';
    if (event.occurredAt !== undefined && !isoTime(event.occurredAt)) return 'bad occurredAt';
    if (
      !event.contact &&
      !event.funnelEvent &&
      !event.payments?.length &&
      !event.paymentStatusUpdates?.length &&
      !event.stripeFirstInvoice &&
      !event.stripeInvoicePayment
    )
      return 'empty event';
    if (event.contact) {
      const { identity } = event.contact;
      if (Object.keys(identity).length === 0) return 'contact without identity';
      if (identity.phone !== undefined && !/^\+[1-9]\d{7,14}$/.test(identity.phone)) return `bad phone ${identity.phone}`;
      if (identity.emails?.some((email) => !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))) return 'bad email';
      for (const id of [identity.mcId, identity.ghlId, identity.stripeCustomerId]) if (id !== undefined && !nonEmpty(id)) return 'empty id';
      const tags = event.contact.fields.tags;
      if (tags !== undefined && !isRecord(tags)) return 'tags not an object';
    }
    if (event.funnelEvent) {
      if (!funnelEventTypes.includes(event.funnelEvent.type)) return 'bad funnel type';
      if (event.funnelEvent.occurredAt !== undefined && !isoTime(event.funnelEvent.occurredAt)) return 'bad funnel time';
    }
    for (const payment of event.payments ?? []) {
      if (!nonEmpty(payment.paymentEventId)) return 'empty paymentEventId';
      if (!Number.isSafeInteger(payment.amountCents)) return 'amount not integer cents';
      if ((payment.category === 'refund') !== payment.amountCents < 0) return 'refund sign';
      if (!paymentCategories.includes(payment.category)) return 'bad category';
      if (!['buy_in_full', 'buy_now_pay_later', 'refund'].includes(payment.paymentType)) return 'bad payment type';
      if (payment.funnelEvent !== undefined && !funnelEventTypes.includes(payment.funnelEvent)) return 'bad payment funnel type';
      if (payment.paidAt !== undefined && !isoTime(payment.paidAt)) return 'bad paidAt';
      if (!nonEmpty(payment.currency) || !nonEmpty(payment.status)) return 'empty currency/status';
    }
    const first = event.stripeFirstInvoice;
    if (first && !(nonEmpty(first.subscriptionId) && (nonEmpty(first.paymentIntentId) || nonEmpty(first.invoiceId))))
      return 'bad first invoice';
    const paid = event.stripeInvoicePayment;
    if (paid && !(nonEmpty(paid.invoiceId) && nonEmpty(paid.paymentIntentId))) return 'bad invoice payment';
    for (const update of event.paymentStatusUpdates ?? [])
      if (!(nonEmpty(update.paymentEventId) || nonEmpty(update.stripePaymentIntentId)) || !nonEmpty(update.status)) return 'bad update';
  }
  JSON.stringify(result);
  return undefined;
}

/** Normalizes and checks totality, validity and determinism (same input → same output). */
function check(source: Source, payload: unknown, config: NormalizerConfig): void {
  const result = normalizeWebhook(source, payload, config);
  expect(violation(result), JSON.stringify(result).slice(0, 500)).toBeUndefined();
  expect(normalizeWebhook(source, payload, config)).toStrictEqual(result);
}

const configArb: fc.Arbitrary<NormalizerConfig> = fc.oneof(
  fc.constant<NormalizerConfig>({}),
  fc.constant<NormalizerConfig>({
    deposit_amount_cents: 240_000,
    ghl: { stage_map: { Nurture: 'purchase_completed' } },
    perspective: { ignore_funnels: ['*'] },
  }),
  fc.record(
    {
      deposit_amount_cents: fc.oneof(fc.integer(), fc.anything()),
      ghl: fc.oneof(
        fc.record({ stage_map: fc.dictionary(fc.string(), fc.oneof(fc.constantFrom(...funnelEventTypes), fc.anything())) }),
        fc.anything(),
      ),
      perspective: fc.oneof(fc.record({ ignore_funnels: fc.array(fc.oneof(fc.string(), fc.anything())) }), fc.anything()),
      phone_country: fc.oneof(fc.constantFrom('GB', 'us', 'JP', 'UK', 'ın', ''), fc.string({ maxLength: 3 }), fc.anything()),
    },
    { requiredKeys: [] },
  ) as fc.Arbitrary<NormalizerConfig>,
);

type Path = Array<string | number>;

function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) pathsOf(item, [...prefix, i], out);
  } else if (isRecord(value)) for (const [key, item] of Object.entries(value)) pathsOf(item, [...prefix, key], out);
  out.push(prefix);
  return out;
}

/** A copy of `value` with the value at `path` replaced (or, when `replacement` is the delete marker, removed). */
const remove = Symbol('remove');
function setAt(value: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement === remove ? undefined : replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((item, i) => (i === head ? setAt(item, rest, replacement) : item));
  if (!isRecord(value) || head === undefined) return value;
  const copy: Record<string, unknown> = { ...value };
  if (rest.length === 0 && replacement === remove) delete copy[head];
  else copy[head] = setAt(copy[head], rest, replacement);
  return copy;
}

const hostile = fc.oneof(
  fc.jsonValue(),
  fc.anything(),
  fc.constant(remove),
  fc.string({ minLength: 2100, maxLength: 4000 }),
  fc.constantFrom('', ' ', '0', '-1', '1e309', 'NaN', '2026-13-45', '{{email}}', '1,234.567', '$-5', 'null', 'true'),
  fc.constantFrom(0, -0, -1, 1e21, Number.MAX_SAFE_INTEGER + 2, 1.005, -1e-7, Number.MIN_VALUE),
);

function mutatedArb(fixtures: unknown[]): fc.Arbitrary<unknown> {
  return fc
    .tuple(fc.constantFrom(...fixtures), fc.array(fc.tuple(fc.nat(), hostile), { minLength: 1, maxLength: 6 }))
    .map(([fixture, edits]) => {
      let value = fixture;
      for (const [index, replacement] of edits) {
        const paths = pathsOf(value);
        const path = paths[index % paths.length] ?? [];
        value = setAt(value, path, replacement);
      }
      return value;
    });
}

describe('every normalizer is total: any JSON in, a valid NormalizeResult out, never a throw', () => {
  for (const source of sources) {
    const fixtures = listFixtures(source).map((f) => f.payload);

    it(`${source}: fixtures all normalize to a valid result`, () => {
      expect(fixtures.length).toBeGreaterThan(0);
      for (const payload of fixtures) check(source, payload, {});
    });

    it(`${source}: fc.anything()`, () => {
      fc.assert(
        fc.property(fc.anything(), configArb, (payload, config) => check(source, payload, config)),
        { numRuns: 400 },
      );
    }, 60_000);

    it(`${source}: fc.jsonValue()`, () => {
      fc.assert(
        fc.property(fc.jsonValue(), configArb, (payload, config) => check(source, payload, config)),
        { numRuns: 400 },
      );
    }, 60_000);

    it(`${source}: mutated fixtures (replaced, retyped, deleted and oversized fields)`, () => {
      fc.assert(
        fc.property(mutatedArb(fixtures), configArb, (payload, config) => check(source, payload, config)),
        { numRuns: 600 },
      );
    }, 60_000);
  }

  it('deeply nested and huge bodies', () => {
    let deep: unknown = { subscriber: { id: '1' } };
    for (let i = 0; i < 20_000; i++) deep = { data: deep, customData: deep, subscriber: deep, contract: deep };
    const huge = { type: 'x'.repeat(2_000_000), email: `${'a'.repeat(1_000_000)}@b.co`, subscriber: { id: '9'.repeat(1_000_000) } };
    for (const source of sources) {
      check(source, deep, {});
      check(source, huge, {});
      check(source, [deep], {});
    }
  });

  it('ManyChat fetched-subscriber path is total too', () => {
    const fetched = listFixtures('manychat').find((f) => f.name === 'getinfo-response')?.payload;
    fc.assert(
      fc.property(fc.oneof(fc.anything(), mutatedArb([fetched])), fc.option(fc.string()), (payload, eventType) => {
        const result = normalizeManyChatSubscriber(payload, eventType, {});
        expect(violation(result)).toBeUndefined();
      }),
      { numRuns: 600 },
    );
  }, 60_000);

  it('a normalizer that throws is caught by the guard — and the property above would report it', () => {
    const broken = guardNormalizer('broken', () => {
      throw new Error('boom');
    });
    const result = broken({}, {});
    expect(result).toStrictEqual({ kind: 'invalid', eventType: null, reason: 'broken normalizer failed: boom' });
    expect(violation(result)).toBe('guard fired: broken normalizer failed: boom');
  });

  it('an unknown source is invalid, not a crash', () => {
    expect(normalizeWebhook('paypal', {}, {})).toStrictEqual({ kind: 'invalid', eventType: null, reason: 'unknown source "paypal"' });
  });
});
