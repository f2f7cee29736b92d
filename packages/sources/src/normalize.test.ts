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
