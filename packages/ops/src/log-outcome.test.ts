import { describe, expect, it } from 'vitest';
import { describeLogContact } from './log-outcome';

describe('describeLogContact', () => {
  const none = { contact: null, funnelEvents: [], payments: [] };

  it('names the contact processing matched, and the one a merge folded it into', () => {
    expect(describeLogContact({ ...none, contact: { id: 'c-1', merged_into_id: null } })).toBe('c-1');
    expect(describeLogContact({ ...none, contact: { id: 'c-1', merged_into_id: 'c-2' } })).toBe('c-1 (merged into c-2)');
  });

  // Review, stop 33: a Stripe log processed before its buyer was known read `contact -` beside a payment
  // that a later ManyChat event had linked to a contact.
  it('names the contact what the log booked was linked to later, once each', () => {
    expect(
      describeLogContact({
        ...none,
        payments: [{ contact_id: 'c-9' }, { contact_id: 'c-9' }],
        funnelEvents: [{ contact_id: 'c-9' }, { contact_id: null }],
      }),
    ).toBe('c-9 (linked after this log was processed: what it booked waited for its contact)');
  });

  it('is null when the log is about no contact (an orphan payment still waiting, an ignored event)', () => {
    expect(describeLogContact(none)).toBeNull();
    expect(describeLogContact({ ...none, payments: [{ contact_id: null }] })).toBeNull();
  });
});
