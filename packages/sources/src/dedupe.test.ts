import { describe, expect, it } from 'vitest';
import { bodyHashKey, dedupeKeyOf, eventTypeOf } from './dedupe';

const enc = (s: string) => new TextEncoder().encode(s);

describe('dedupeKeyOf', () => {
  it('uses provider event ids', () => {
    expect(dedupeKeyOf('stripe', { id: 'evt_123', type: 'x' }, enc('{}'))).toBe('evt_123');
    expect(dedupeKeyOf('ghl', { webhookId: 'abc', type: 'ContactCreate' }, enc('{}'))).toBe('webhook:abc');
    expect(dedupeKeyOf('perspective', { id: 'p1', trigger: 'conversion' }, enc('{}'))).toBe('p1:conversion');
    expect(dedupeKeyOf('perspective', { id: 'p1' }, enc('{}'))).toBe('p1');
  });
  it('builds the Denefits key from contract code, webhook type and payment number', () => {
    const recurring = {
      webhook_type: 'contract.payments.recurring_payment',
      data: { contract: { contract_code: 'C1' }, payment_number: 3 },
    };
    expect(dedupeKeyOf('denefits', recurring, enc('{}'))).toBe('C1:contract.payments.recurring_payment:3');
    expect(dedupeKeyOf('denefits', { webhook_type: 'contract.created', contract_code: 'C1' }, enc('{}'))).toBe('C1:contract.created');
    expect(dedupeKeyOf('denefits', { webhook_type: 'contract.status', contract_code: 'C1', status: 'completed' }, enc('{}'))).toBe(
      'C1:contract.status:completed',
    );
  });
  it('tells Make.com-relayed recurring payments apart by number_of_payments − remaining_payments', () => {
    const instalment = (remaining: number) => ({
      webhook_type: 'contract.payments.recurring_payment',
      data: { contract: { contract_code: 'C2', number_of_payments: 12, remaining_payments: remaining } },
    });
    expect(dedupeKeyOf('denefits', instalment(11), enc('{}'))).toBe('C2:contract.payments.recurring_payment:1');
    expect(dedupeKeyOf('denefits', instalment(10), enc('{}'))).toBe('C2:contract.payments.recurring_payment:2');
    expect(dedupeKeyOf('denefits', instalment(10), enc('{"other":"bytes"}'))).toBe('C2:contract.payments.recurring_payment:2');
  });
  it('keeps a contract returning to a status it had before (Active → Overdue → Active → Overdue) apart by remaining_payments', () => {
    const change = (previous: string, current: string, remaining: number) => ({
      webhook_type: 'contract.status',
      data: { contract: { contract_code: 'C3', contract_status: current, number_of_payments: 12, remaining_payments: remaining } },
      status_change: { previous_status: previous, current_status: current },
    });
    const keys = [change('Active', 'Overdue', 9), change('Overdue', 'Active', 8), change('Active', 'Overdue', 7)].map((b) =>
      dedupeKeyOf('denefits', b, enc(JSON.stringify(b))),
    );
    expect(new Set(keys).size).toBe(3);
    // A relay's retry of one change (other bytes) is still that change.
    expect(dedupeKeyOf('denefits', change('Active', 'Overdue', 9), enc('{"other":"bytes"}'))).toBe(keys[0]);
  });
  it('tells recurring payments apart by remaining_payments when the contract has no number_of_payments (as the normalizer keys them)', () => {
    const instalment = (remaining: number) => ({
      webhook_type: 'contract.payments.recurring_payment',
      data: { contract: { contract_code: 'C4', remaining_payments: remaining } },
    });
    expect(dedupeKeyOf('denefits', instalment(11), enc('{}'))).not.toBe(dedupeKeyOf('denefits', instalment(10), enc('{}')));
    expect(dedupeKeyOf('denefits', instalment(10), enc('{"other":"bytes"}'))).toBe(dedupeKeyOf('denefits', instalment(10), enc('{}')));
  });
  // A new operator (stop 29): two deliveries of a type MCB does not handle (a relay's typo) with
  // different statuses: the second was answered duplicate and never stored.
  it('keys a Denefits type it does not handle by the body, not by contract and type', () => {
    const typo = (status: string) => ({ webhook_type: 'contract.status_changed', contract_code: 'C5', new_status: status });
    const [a, b] = [typo('Active'), typo('Overdue')];
    expect(dedupeKeyOf('denefits', a, enc(JSON.stringify(a)))).toBe(bodyHashKey(enc(JSON.stringify(a))));
    expect(dedupeKeyOf('denefits', a, enc(JSON.stringify(a)))).not.toBe(dedupeKeyOf('denefits', b, enc(JSON.stringify(b))));
  });
  it('falls back to the SHA-256 of the exact raw body', () => {
    const raw = enc('{"subscriber":{"id":"1"}}');
    expect(dedupeKeyOf('manychat', { subscriber: { id: '1' } }, raw)).toBe(bodyHashKey(raw));
    expect(dedupeKeyOf('stripe', { no: 'id' }, raw)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(dedupeKeyOf('ghl', 'not an object', raw)).toBe(bodyHashKey(raw));
    expect(bodyHashKey(enc('a'))).not.toBe(bodyHashKey(enc('a ')));
  });
});

describe('eventTypeOf', () => {
  it('reads each source’s event type field', () => {
    expect(eventTypeOf('stripe', { type: 'charge.refunded' })).toBe('charge.refunded');
    expect(eventTypeOf('ghl', { customData: { event_type: 'meeting_booked' }, type: 'X' })).toBe('meeting_booked');
    expect(eventTypeOf('ghl', { type: 'ContactCreate' })).toBe('ContactCreate');
    expect(eventTypeOf('manychat', { event_type: 'link_sent' })).toBe('link_sent');
    expect(eventTypeOf('denefits', { webhook_type: 'contract.created' })).toBe('contract.created');
    expect(eventTypeOf('manychat', null)).toBeNull();
  });
});
