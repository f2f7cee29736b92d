import { describe, expect, it } from 'vitest';
import { readFixture } from '../test-fixtures';
import { denefitsPaymentNumber, normalizeDenefits } from './normalize';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely in tests
type Json = any;
const fixture = (name: string) => readFixture('denefits', name) as Json;
const config = {};

const maria = {
  customerEmail: 'Maria.Lopez@example.com',
  customerName: 'Maria Lopez',
  customerPhone: '+15552013344',
};
const mariaContact = {
  identity: { emails: ['Maria.Lopez@example.com'], phone: '+15552013344' },
  fields: { emailPayment: 'Maria.Lopez@example.com', phone: '+15552013344', firstName: 'Maria', lastName: 'Lopez' },
};
const addedAt = '2026-11-08T16:28:57.000Z';

function withRemaining(remaining: number) {
  const body = fixture('recurring-payment');
  body[0].data.contract.remaining_payments = remaining;
  return body;
}

describe('normalizeDenefits', () => {
  it('contract.created → <code>_plan (financed, active, payment_plan_created) + <code>_downpayment (paid); dollars → exact cents', () => {
    expect(normalizeDenefits(fixture('contract-created'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'denefits',
          eventType: 'contract.created',
          occurredAt: addedAt,
          contact: mariaContact,
          payments: [
            {
              ...maria,
              paymentEventId: 'DNF7Q2K9XB_plan',
              source: 'denefits',
              paymentType: 'buy_now_pay_later',
              category: 'payment_plan',
              amountCents: 240_000,
              currency: 'usd',
              status: 'active',
              paidAt: addedAt,
              denefitsContractCode: 'DNF7Q2K9XB',
              denefitsFinancedCents: 240_000,
              denefitsRecurringCents: 17_510,
              denefitsNumPayments: 12,
              denefitsRemainingPayments: 12,
              funnelEvent: 'payment_plan_created',
            },
            {
              ...maria,
              paymentEventId: 'DNF7Q2K9XB_downpayment',
              source: 'denefits',
              paymentType: 'buy_now_pay_later',
              category: 'downpayment',
              amountCents: 30_000,
              currency: 'usd',
              status: 'paid',
              paidAt: addedAt,
              denefitsContractCode: 'DNF7Q2K9XB',
            },
          ],
        },
      ],
    });
  });

  it('no downpayment ("0.00") → the plan alone; float dollars (1497.1, 124.76) become exact cents', () => {
    const result = normalizeDenefits(fixture('contract-created-no-downpayment'), config);
    expect(result).toMatchObject({
      kind: 'events',
      events: [{ payments: [{ paymentEventId: 'DNF3M8P1ZA_plan', amountCents: 149_710, denefitsRecurringCents: 12_476 }] }],
    });
    expect(result.kind === 'events' && result.events[0]?.payments).toHaveLength(1);
  });

  it('contract.payments.recurring_payment → recurring keyed by contract and payment number (never a purchase)', () => {
    expect(normalizeDenefits(fixture('recurring-payment'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'denefits',
          eventType: 'contract.payments.recurring_payment',
          contact: mariaContact,
          payments: [
            {
              ...maria,
              paymentEventId: 'DNF7Q2K9XB_recurring_1',
              source: 'denefits',
              paymentType: 'buy_now_pay_later',
              category: 'recurring',
              amountCents: 17_510,
              currency: 'usd',
              status: 'paid',
              denefitsContractCode: 'DNF7Q2K9XB',
              denefitsRecurringCents: 17_510,
              denefitsNumPayments: 12,
              denefitsRemainingPayments: 11,
              funnelEvent: 'recurring_payment_received',
            },
          ],
        },
      ],
    });
  });

  it('three instalments get three keys; the same delivery twice gets the same key', () => {
    const keys = [11, 10, 9, 10].map((remaining) => {
      const result = normalizeDenefits(withRemaining(remaining), config);
      return result.kind === 'events' ? result.events[0]?.payments?.[0]?.paymentEventId : result.kind;
    });
    expect(keys).toEqual(['DNF7Q2K9XB_recurring_1', 'DNF7Q2K9XB_recurring_2', 'DNF7Q2K9XB_recurring_3', 'DNF7Q2K9XB_recurring_2']);
    expect(denefitsPaymentNumber(withRemaining(9))).toBe(3);
  });

  it('an explicit payment (data.payment) gives the number, amount and time', () => {
    const body = fixture('recurring-payment');
    body[0].data.payment = { payment_number: 4, payment_amount: '$175.10', payment_date: '2027-03-08T10:00:00Z' };
    expect(normalizeDenefits(body, config)).toMatchObject({
      events: [
        {
          occurredAt: '2027-03-08T10:00:00.000Z',
          payments: [{ paymentEventId: 'DNF7Q2K9XB_recurring_4', amountCents: 17_510, paidAt: '2027-03-08T10:00:00.000Z' }],
        },
      ],
    });
  });

  it('contract.status → status update of <code>_plan, no contact', () => {
    expect(normalizeDenefits(fixture('contract-status'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'denefits',
          eventType: 'contract.status',
          paymentStatusUpdates: [{ paymentEventId: 'DNF7Q2K9XB_plan', status: 'overdue' }],
        },
      ],
    });
  });

  it('unknown webhook_type → ignored; no contract_code or unreadable amounts → invalid', () => {
    expect(normalizeDenefits({ webhook_type: 'contract.refund', data: { contract: { contract_code: 'X' } } }, config)).toStrictEqual({
      kind: 'ignored',
      eventType: 'contract.refund',
      reason: 'unhandled Denefits webhook_type "contract.refund"',
    });
    const noCode = fixture('contract-created');
    delete noCode[0].data.contract.contract_code;
    expect(normalizeDenefits(noCode, config)).toMatchObject({ kind: 'invalid', reason: 'Denefits contract has no contract_code' });
    const badAmount = fixture('contract-created');
    badAmount[0].data.contract.financed_amount = 'two thousand';
    expect(normalizeDenefits(badAmount, config)).toMatchObject({ kind: 'invalid', eventType: 'contract.created' });
    const noNumber = fixture('recurring-payment');
    delete noNumber[0].data.contract.remaining_payments;
    expect(normalizeDenefits(noNumber, config)).toMatchObject({ kind: 'invalid' });
  });
});
