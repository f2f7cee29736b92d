import type { Database } from '@mcb/db';
import { addAd, addEvent, addInsight, addPayment, createContact } from './factories';

/**
 * The hand-built week used by the figures test, the email tests and the screenshot. All instants
 * are UTC; the report week is Mon 2026-10-26 .. Sun 2026-11-01. DST ends in New York on
 * Sun 2026-11-01 02:00, so the New York week is 2026-10-26T04:00Z .. 2026-11-02T05:00Z (169 h);
 * the UTC week is 2026-10-26T00:00Z .. 2026-11-02T00:00Z. The week before: from 10-19T04:00Z (NY)
 * or 10-19T00:00Z (UTC).
 *
 * | person | source / ad | events (UTC) | payments |
 * |---|---|---|---|
 * | A | instagram / AD1 | subscribed 10-27 15:00, dm_qualified 16:00, link_sent 10-28 10:00, link_clicked 11:00, appointment_scheduled 10-29 12:00, appointment_held 10-30 14:00, purchase_completed 10-31 18:00 | stripe full_purchase 300000 at 10-31 18:00 |
 * | B | instagram / AD1 | subscribed 10-26 02:00 and form_submitted 10-26 03:30 (NY: Sunday night, week before; UTC: in the week), appointment_scheduled 10-27 12:00, appointment_held 11-02 03:00 and deposit_paid 11-02 03:30 (NY: Sunday night, in the week; UTC: next week) | stripe deposit 10000 at 11-02 03:30 |
 * | C | ghl / AD2 | subscribed 2026-09-01 (old lead), appointment_held 10-29 20:00, payment_plan_created 10-30 20:00, recurring_payment_received 11-01 16:00 | denefits plan 420000 + downpayment 50000 at 10-30 20:00, recurring 37500 at 11-01 16:00, a failed recurring 37500 at 10-31 12:00 |
 * | D = D1 ← D2 | D1 instagram / AD2; D2 ghl, merged into D1 | D1: subscribed 10-20 12:00, appointment_scheduled 10-28 14:00; D2 (its events not moved): subscribed 10-28 11:55, form_submitted 12:00, appointment_scheduled 13:00 | — |
 * | E | website / — | subscribed 10-21 14:00, purchase_completed 10-21 15:00, payment_refunded 10-29 09:00 | stripe full_purchase 200000 at 10-21 15:00, refund -50000 at 10-29 09:00 |
 * | F | facebook / — | subscribed 10-30 01:00 | — |
 * | G | instagram / — | subscribed 11-02 04:30 (NY: Sunday 23:30, in the week; UTC: next week) | — |
 * | orphan | — | — | stripe full_purchase 150000 at 10-28 20:00, no contact |
 *
 * Ad spend by local date: AD1 10-25 9999 (before), 10-26 10000, 10-29 12345, 11-01 5000, 11-02 7777
 * (after); AD2 10-19 4000 (week before), 10-27 20000, 10-31 3333; AD3 10-28 1500.
 */
export async function seedScenario(admin: Database, tenantId: string): Promise<void> {
  const t = tenantId;
  const A = await createContact(admin, t, { source: 'instagram', adId: 'AD1' });
  const B = await createContact(admin, t, { source: 'instagram', adId: 'AD1' });
  const C = await createContact(admin, t, { source: 'ghl', adId: 'AD2' });
  const D1 = await createContact(admin, t, { source: 'instagram', adId: 'AD2' });
  const D2 = await createContact(admin, t, { source: 'ghl', mergedIntoId: D1 });
  const E = await createContact(admin, t, { source: 'website' });
  const F = await createContact(admin, t, { source: 'facebook' });
  const G = await createContact(admin, t, { source: 'instagram' });

  await addEvent(admin, t, A, 'contact_subscribed', '2026-10-27T15:00:00Z');
  await addEvent(admin, t, A, 'dm_qualified', '2026-10-27T16:00:00Z');
  await addEvent(admin, t, A, 'link_sent', '2026-10-28T10:00:00Z');
  await addEvent(admin, t, A, 'link_clicked', '2026-10-28T11:00:00Z');
  await addEvent(admin, t, A, 'appointment_scheduled', '2026-10-29T12:00:00Z');
  await addEvent(admin, t, A, 'appointment_held', '2026-10-30T14:00:00Z');
  await addEvent(admin, t, A, 'purchase_completed', '2026-10-31T18:00:00Z');
  await addPayment(admin, t, {
    contactId: A,
    source: 'stripe',
    category: 'full_purchase',
    amountCents: 300000,
    paidAt: '2026-10-31T18:00:00Z',
  });

  await addEvent(admin, t, B, 'contact_subscribed', '2026-10-26T02:00:00Z');
  await addEvent(admin, t, B, 'form_submitted', '2026-10-26T03:30:00Z');
  await addEvent(admin, t, B, 'appointment_scheduled', '2026-10-27T12:00:00Z');
  await addEvent(admin, t, B, 'appointment_held', '2026-11-02T03:00:00Z');
  await addEvent(admin, t, B, 'deposit_paid', '2026-11-02T03:30:00Z');
  await addPayment(admin, t, { contactId: B, source: 'stripe', category: 'deposit', amountCents: 10000, paidAt: '2026-11-02T03:30:00Z' });

  await addEvent(admin, t, C, 'contact_subscribed', '2026-09-01T12:00:00Z');
  await addEvent(admin, t, C, 'appointment_held', '2026-10-29T20:00:00Z');
  await addEvent(admin, t, C, 'payment_plan_created', '2026-10-30T20:00:00Z');
  await addEvent(admin, t, C, 'recurring_payment_received', '2026-11-01T16:00:00Z');
  await addPayment(admin, t, {
    contactId: C,
    source: 'denefits',
    category: 'payment_plan',
    amountCents: 420000,
    paidAt: '2026-10-30T20:00:00Z',
    status: 'active',
  });
  await addPayment(admin, t, {
    contactId: C,
    source: 'denefits',
    category: 'downpayment',
    amountCents: 50000,
    paidAt: '2026-10-30T20:00:00Z',
  });
  await addPayment(admin, t, {
    contactId: C,
    source: 'denefits',
    category: 'recurring',
    amountCents: 37500,
    paidAt: '2026-11-01T16:00:00Z',
  });
  await addPayment(admin, t, {
    contactId: C,
    source: 'denefits',
    category: 'recurring',
    amountCents: 37500,
    paidAt: '2026-10-31T12:00:00Z',
    status: 'failed',
  });

  await addEvent(admin, t, D1, 'contact_subscribed', '2026-10-20T12:00:00Z');
  await addEvent(admin, t, D1, 'appointment_scheduled', '2026-10-28T14:00:00Z');
  await addEvent(admin, t, D2, 'contact_subscribed', '2026-10-28T11:55:00Z');
  await addEvent(admin, t, D2, 'form_submitted', '2026-10-28T12:00:00Z');
  await addEvent(admin, t, D2, 'appointment_scheduled', '2026-10-28T13:00:00Z');

  await addEvent(admin, t, E, 'contact_subscribed', '2026-10-21T14:00:00Z');
  await addEvent(admin, t, E, 'purchase_completed', '2026-10-21T15:00:00Z');
  await addEvent(admin, t, E, 'payment_refunded', '2026-10-29T09:00:00Z');
  await addPayment(admin, t, {
    contactId: E,
    source: 'stripe',
    category: 'full_purchase',
    amountCents: 200000,
    paidAt: '2026-10-21T15:00:00Z',
  });
  await addPayment(admin, t, { contactId: E, source: 'stripe', category: 'refund', amountCents: -50000, paidAt: '2026-10-29T09:00:00Z' });

  await addEvent(admin, t, F, 'contact_subscribed', '2026-10-30T01:00:00Z');
  await addEvent(admin, t, G, 'contact_subscribed', '2026-11-02T04:30:00Z');

  await addPayment(admin, t, {
    contactId: null,
    source: 'stripe',
    category: 'full_purchase',
    amountCents: 150000,
    paidAt: '2026-10-28T20:00:00Z',
  });

  await addAd(admin, t, 'AD1', 'Spring Promo – Reel');
  await addAd(admin, t, 'AD2', 'Testimonial Carousel');
  await addAd(admin, t, 'AD3', 'Retargeting Static');
  for (const [ad, date, cents] of [
    ['AD1', '2026-10-25', 9999],
    ['AD1', '2026-10-26', 10000],
    ['AD1', '2026-10-29', 12345],
    ['AD1', '2026-11-01', 5000],
    ['AD1', '2026-11-02', 7777],
    ['AD2', '2026-10-19', 4000],
    ['AD2', '2026-10-27', 20000],
    ['AD2', '2026-10-31', 3333],
    ['AD3', '2026-10-28', 1500],
  ] as const) {
    await addInsight(admin, t, ad, date, cents);
  }
}
