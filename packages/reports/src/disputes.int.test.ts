import { createDatabase } from '@mcb/db';
import { testEnv } from '@mcb/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { addPayment, createContact, createTenant } from '../test/factories';
import { computeReportFigures } from './figures';
import { buildWeeklyReport, loadReportTenant } from './send';
import { weekContaining } from './week';

// A new operator's first day: cash collected counted a sale under an open Stripe dispute with no hint.
// The figure stays SPEC §7's; the report says how much of it is disputed (open or lost), only when any is.
// Week: Mon 2026-10-26 – Sun 11-01, UTC.

const { databaseUrl } = testEnv();
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 2 });
const week = weekContaining('2026-10-28', 'UTC');
const now = new Date('2026-11-03T12:00:00Z');

afterAll(async () => {
  await Promise.all([admin.close(), app.close()]);
});

describe('disputed payments in the weekly report', () => {
  it('cash collected keeps them; the figures and the email say how much of it is disputed', async () => {
    const t = await createTenant(admin, { name: 'Disputed Clinic', config: { timezone: 'UTC', currency: 'gbp' } });
    const buyer = await createContact(admin, t.id, { source: 'instagram' });
    const pay = (amountCents: number, status: string, category: 'full_purchase' | 'deposit' = 'full_purchase') =>
      addPayment(admin, t.id, {
        contactId: buyer,
        source: 'stripe',
        category,
        amountCents,
        currency: 'gbp',
        status,
        paidAt: '2026-10-28T10:00:00Z',
      });
    await pay(49700, 'disputed');
    await pay(20000, 'dispute_lost', 'deposit');
    await pay(10000, 'paid');
    // Won back: paid again, not disputed.
    await pay(5000, 'paid');

    const f = await computeReportFigures(app, t.id, week);
    expect(f.revenue.cash_collected_cents).toBe(84700);
    expect(f.revenue.disputed_cents).toBe(69700);
    expect(f.previous.revenue.disputed_cents).toBeUndefined();

    const report = await buildWeeklyReport(app, await loadReportTenant(app, t.id), week, now);
    expect(report.text).toContain(`Cash collected              £847.00\n${' '.repeat(28)}includes £697.00 in disputed payments\n`);
    expect(report.html).toContain('includes £697.00 in disputed payments');
  });

  it('says nothing when no payment is disputed', async () => {
    const t = await createTenant(admin, { name: 'Quiet Clinic', config: { timezone: 'UTC' } });
    const buyer = await createContact(admin, t.id, { source: 'instagram' });
    await addPayment(admin, t.id, {
      contactId: buyer,
      source: 'stripe',
      category: 'full_purchase',
      amountCents: 10000,
      paidAt: '2026-10-28T10:00:00Z',
    });
    const f = await computeReportFigures(app, t.id, week);
    expect(f.revenue.disputed_cents).toBeUndefined();
    const report = await buildWeeklyReport(app, await loadReportTenant(app, t.id), week, now);
    expect(report.text).not.toContain('disputed');
    expect(report.html).not.toContain('disputed');
  });
});
