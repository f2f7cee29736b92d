import { describe, expect, it } from 'vitest';
import type { Source } from './domain';
import { maxPaymentMinorUnits, normalizeWebhook } from './normalize';
import { readFixture } from './test-fixtures';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely in tests
const fixture = (source: Source, name: string) => readFixture(source, name) as any;

// Red team, stop 32: a signed body can say any amount up to 2^53. 1,100 refunds of 2^53 − 1 were booked,
// and their sum overflowed `bigint` in the stats every tenant shares and in the tenant's report.
describe('normalizeWebhook keeps payments within what is stored', () => {
  it('refuses an event booking an amount past 10^12 minor units, naming it; 10^12 itself passes', () => {
    const refunded = fixture('stripe', 'charge-refunded');
    for (const r of refunded.data.object.refunds.data) r.amount = 9007199254740991;
    expect(normalizeWebhook('stripe', refunded, {})).toStrictEqual({
      kind: 'invalid',
      eventType: 'charge.refunded',
      reason: `a payment of -9007199254740991 minor units is past ${maxPaymentMinorUnits}: no provider charges that much`,
    });
    const sale = fixture('stripe', 'checkout-session-completed-full');
    sale.data.object.amount_total = maxPaymentMinorUnits;
    expect(normalizeWebhook('stripe', sale, {})).toMatchObject({ kind: 'events', events: [{ payments: [{ amountCents: 1e12 }] }] });
    sale.data.object.amount_total = maxPaymentMinorUnits + 1;
    expect(normalizeWebhook('stripe', sale, {})).toMatchObject({ kind: 'invalid', eventType: 'checkout.session.completed' });
    const plan = fixture('denefits', 'contract-created');
    plan[0].data.contract.financed_amount = '99,999,999,999.00';
    expect(normalizeWebhook('denefits', plan, {})).toMatchObject({
      kind: 'invalid',
      reason: expect.stringMatching(/^a payment of 9999999999900 minor units is past/),
    });
  });

  it('leaves out a Denefits count past the integer column, keeping the plan (it failed the whole contract)', () => {
    const plan = fixture('denefits', 'contract-created');
    plan[0].data.contract.number_of_payments = 99999999999;
    plan[0].data.contract.remaining_payments = 99999999999;
    const result = normalizeWebhook('denefits', plan, {});
    expect(result.kind).toBe('events');
    const payments = result.kind === 'events' ? result.events.flatMap((e) => e.payments ?? []) : [];
    expect(payments.length).toBeGreaterThan(0);
    for (const p of payments) {
      expect(p).not.toHaveProperty('denefitsNumPayments');
      expect(p).not.toHaveProperty('denefitsRemainingPayments');
    }
    expect(payments[0]).toMatchObject({ denefitsFinancedCents: 240_000 });
  });
});

// A national number (the UK's 07…) sent to a tenant without a `phone_country` has no E.164 form: the
// phone was dropped without a word and the log read `processed` (known gap, stops 30-35). Every
// normalizer that reads a phone now says so in the log's note, without repeating the number.
describe('a phone sent but not kept is named in the processed log’s note', () => {
  const national = '07700 900456';
  // Where each fixture carries its phone(s), as paths into the body.
  const cases: Array<[Source, string, string[][]]> = [
    ['manychat', 'contact-created', [['subscriber', 'phone']]],
    ['ghl', 'workflow-form-filled', [['phone']]],
    [
      'perspective',
      'form-submitted',
      [
        ['profile', 'phone', 'value'],
        ['values', 'phone'],
      ],
    ],
    ['stripe', 'checkout-session-completed-full', [['data', 'object', 'customer_details', 'phone']]],
    ['stripe', 'checkout-session-expired', [['data', 'object', 'customer_details', 'phone']]],
    ['stripe', 'charge-refunded', [['data', 'object', 'billing_details', 'phone']]],
    ['stripe', 'invoice-paid-renewal', [['data', 'object', 'customer_phone']]],
    ['denefits', 'contract-created', [['0', 'data', 'contract', 'customer_mobile']]],
    ['denefits', 'recurring-payment', [['0', 'data', 'contract', 'customer_mobile']]],
  ];
  const setAt = (body: Record<string, unknown>, path: string[], value: unknown) => {
    const last = path.length - 1;
    const parent = path.slice(0, last).reduce((o, key) => o[key] as Record<string, unknown>, body);
    parent[path[last] as string] = value;
  };
  const phones = (r: ReturnType<typeof normalizeWebhook>) =>
    r.kind === 'events' ? r.events.flatMap((e) => [e.contact?.identity.phone, ...(e.payments ?? []).map((p) => p.customerPhone)]) : [];

  it.each(cases)('%s %s: without phone_country, no phone and a note; with GB, the phone and no note', (source, name, paths) => {
    const payload = fixture(source, name);
    for (const path of paths) setAt(payload, path, national);
    const without = normalizeWebhook(source, payload, {});
    expect(without.kind).toBe('events');
    expect(without.kind === 'events' && without.note).toMatch(/^(.*; )?phone not kept: a national number \(leading 0\)/);
    expect(JSON.stringify(without)).not.toContain('900456');
    expect(phones(without).filter(Boolean)).toEqual([]);
    const gb = normalizeWebhook(source, payload, { phone_country: 'GB' });
    expect(gb.kind === 'events' && gb.note).toBeFalsy();
    expect(phones(gb)).toContain('+447700900456');
  });

  it('an unreadable phone says so too; a missing one says nothing', () => {
    const junk = fixture('manychat', 'contact-created');
    junk.subscriber.phone = '{{phone}}';
    expect(normalizeWebhook('manychat', junk, {})).toMatchObject({
      kind: 'events',
      note: 'phone not kept: not a number with its country code (8-15 digits)',
    });
    expect(normalizeWebhook('manychat', junk, { phone_country: 'DE' })).toMatchObject({
      note: 'phone not kept: not a number of DE nor one with its country code (8-15 digits)',
    });
    const none = fixture('manychat', 'contact-created');
    none.subscriber.phone = null;
    expect(normalizeWebhook('manychat', none, {})).not.toHaveProperty('note');
    // The whatsapp number is read when the phone is not: nothing was lost, nothing to say.
    junk.subscriber.whatsapp_phone = '+44 7700 900456';
    expect(normalizeWebhook('manychat', junk, {})).not.toHaveProperty('note');
  });

  it('a GHL or Perspective body whose only identifier is such a phone is refused with the reason', () => {
    const ghl = { phone: national, customData: { event_type: 'form_filled' } };
    expect(normalizeWebhook('ghl', ghl, {})).toMatchObject({
      kind: 'invalid',
      reason: expect.stringContaining('(phone not kept: a national number (leading 0)'),
    });
  });
});
