import { createDatabase, getTenantStats } from '@mcb/db';
import { testEnv } from '@mcb/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { addAd, addEvent, addInsight, addPayment, createContact, createTenant } from '../test/factories';
import { computeReportFigures } from './figures';
import { buildWeeklyReport, loadReportTenant } from './send';
import { weekContaining } from './week';

// The report wrote every tenant's money as US dollars and summed every currency together: a tenant
// paid ¥5,000 read "$50.00 collected", a pound tenant's dollar payment was added to its pounds, and a
// yen ad account's spend was divided into a pound ROAS. Week: Mon 2026-10-26 – Sun 11-01, UTC.

const { databaseUrl } = testEnv();
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 2 });
const week = weekContaining('2026-10-28', 'UTC');
// A Tuesday after the week: the email reads "last week".
const now = new Date('2026-11-03T12:00:00Z');

afterAll(async () => {
  await Promise.all([admin.close(), app.close()]);
});

async function render(tenantId: string) {
  return buildWeeklyReport(app, await loadReportTenant(app, tenantId), week, now);
}

describe('report money in the tenant currency', () => {
  it('a JPY tenant: ¥5,000 is 5000 minor units and reads ¥5,000, in the subject too', async () => {
    const t = await createTenant(admin, { name: 'Tokyo Clinic', config: { timezone: 'UTC', currency: 'jpy' } });
    const buyer = await createContact(admin, t.id, { source: 'instagram', adId: 'ADJ' });
    await addEvent(admin, t.id, buyer, 'purchase_completed', '2026-10-28T10:00:00Z');
    await addPayment(admin, t.id, {
      contactId: buyer,
      source: 'stripe',
      category: 'full_purchase',
      amountCents: 5000,
      currency: 'jpy',
      paidAt: '2026-10-28T10:00:00Z',
    });
    await addAd(admin, t.id, 'ADJ', 'Yen ad');
    await addInsight(admin, t.id, 'ADJ', '2026-10-27', 1200, 'jpy');

    const f = await computeReportFigures(app, t.id, week);
    expect(f.currency).toBe('jpy');
    expect(f.revenue).toMatchObject({ cash_collected_cents: 5000, projected_cents: 5000 });
    expect(f.revenue.other_currencies).toBeUndefined();
    // ROAS = 5000 / 1200 = 4.1667; cost per purchase = 1200 / 1 purchase.
    expect(f.ads).toMatchObject({ spend_cents: 1200, cost_per_lead_cents: 1200, cost_per_purchase_cents: 1200, roas: 4.17 });
    expect(f.ads.other_currencies).toBeUndefined();

    const report = await render(t.id);
    expect(report.figures.currency).toBe('jpy');
    expect(report.subject).toBe('Tokyo Clinic weekly: Oct 26 – Nov 1 · ¥5,000 collected');
    expect(report.html).toContain('Here is how last week went: ¥5,000 collected');
    expect(report.text).toContain('Cash collected              ¥5,000');
    expect(report.text).toContain('Spend                       ¥1,200');
    for (const out of [report.subject, report.html, report.text]) expect(out).not.toMatch(/\$\d|¥50\.00/);
  });

  it('a GBP tenant sums only its pounds (any case); a dollar payment is listed apart, not added', async () => {
    const t = await createTenant(admin, { name: 'London Clinic', config: { timezone: 'UTC', currency: 'gbp' } });
    const a = await createContact(admin, t.id, { source: 'instagram' });
    const paid = (amountCents: number, currency: string, status = 'paid') =>
      addPayment(admin, t.id, {
        contactId: a,
        source: 'stripe',
        category: 'full_purchase',
        amountCents,
        currency,
        status,
        paidAt: '2026-10-29T12:00:00Z',
      });
    await paid(100_000, 'gbp');
    await paid(23_456, 'GBP');
    await paid(2_500, 'usd');
    await paid(9_900, 'usd', 'failed');
    // The week before: one payment in euros only.
    await addPayment(admin, t.id, {
      contactId: a,
      source: 'stripe',
      category: 'deposit',
      amountCents: 5_000,
      currency: 'eur',
      paidAt: '2026-10-20T12:00:00Z',
    });

    const f = await computeReportFigures(app, t.id, week);
    expect(f.currency).toBe('gbp');
    expect(f.revenue).toMatchObject({
      cash_collected_cents: 123_456,
      projected_cents: 123_456,
      by_source: { stripe: { cash_collected_cents: 123_456, projected_cents: 123_456 } },
      other_currencies: { usd: { cash_collected_cents: 2_500, projected_cents: 2_500, payments: 1 } },
    });
    expect(f.revenue.by_category.full_purchase).toBe(123_456);
    expect(f.previous.revenue.cash_collected_cents).toBe(0);
    expect(f.previous.revenue.other_currencies).toEqual({ eur: { cash_collected_cents: 5_000, projected_cents: 0, payments: 1 } });
    expect(f.change.cash_collected_cents).toBeNull();

    const report = await render(t.id);
    expect(report.subject).toBe('London Clinic weekly: Oct 26 – Nov 1 · £1,234.56 collected');
    const also = 'Also collected, not in these totals: $25.00 (1 payment).';
    expect(report.text).toContain(also);
    expect(report.html).toContain(also);
    expect(report.text).toContain('Cash collected              £1,234.56');
    expect(report.text).toContain('The week before (Oct 19 – Oct 25): £0.00 collected');
  });

  it('ad spend in another currency than the tenant’s is left out: no cost or ROAS mixing currencies, and the email says so', async () => {
    const t = await createTenant(admin, { name: 'Mixed Clinic', config: { timezone: 'UTC', currency: 'gbp' } });
    const a = await createContact(admin, t.id, { source: 'instagram', adId: 'ADX' });
    await addEvent(admin, t.id, a, 'contact_subscribed', '2026-10-27T10:00:00Z');
    await addPayment(admin, t.id, {
      contactId: a,
      source: 'stripe',
      category: 'deposit',
      amountCents: 10_000,
      currency: 'gbp',
      paidAt: '2026-10-27T11:00:00Z',
    });
    await addInsight(admin, t.id, 'ADX', '2026-10-27', 300_000, 'jpy');
    await addInsight(admin, t.id, 'ADX', '2026-10-28', 200_000, 'JPY');
    // The week before: rows synced before insights had a currency count as the tenant's.
    await addInsight(admin, t.id, 'ADX', '2026-10-21', 3_000, null);

    const f = await computeReportFigures(app, t.id, week);
    expect(f.ads).toEqual({
      spend_cents: 0,
      cost_per_lead_cents: null,
      cost_per_purchase_cents: null,
      roas: null,
      top: [],
      other_currencies: { jpy: { spend_cents: 500_000 } },
    });
    expect(f.previous.ads).toEqual({ spend_cents: 3_000, cost_per_lead_cents: null, cost_per_purchase_cents: null, roas: 0, top: [] });
    // Review: the week's spend went to another currency, it did not fall by 100 %: no change from part of the spend
    // (the email read "Ad spend £0.00 (-100%)", in the colour of good news).
    expect(f.change.spend_cents).toBeNull();

    const report = await render(t.id);
    const note = "Ad spend in another currency than this report's (GBP) is left out of spend, costs and ROAS: ¥500,000 last week.";
    expect(report.text).toContain(note);
    expect(report.html).toContain(note.replace("'", '&#x27;'));
    expect(report.text).toContain('Cost per lead               —');
    expect(report.text).toContain('ROAS                        —');
    expect(report.text).not.toContain('No ad spend recorded');
    expect(report.text).toContain('Ad spend                    £0.00  (—)');
    expect(report.html).not.toContain('-100%');
    expect(report.html).toContain('— vs the week before');
  });
});

describe('keys a sender wrote never reach Object.prototype', () => {
  // Red team, stop 32: one signed Stripe event with currency "__proto__" (stored before the normalizer
  // refused such currencies) made the report write NaN onto Object.prototype; every later job of that
  // worker process, any tenant's, failed (prom-client: 'Added label "cash_collected_cents" …').
  it('a stored payment in currency __proto__ or constructor and a lead source __proto__ are figures like any other', async () => {
    const t = await createTenant(admin, { name: 'Proto Clinic', config: { timezone: 'UTC', currency: 'usd' } });
    const a = await createContact(admin, t.id, { source: '__proto__' });
    await addEvent(admin, t.id, a, 'contact_subscribed', '2026-10-28T10:00:00Z');
    for (const [currency, amountCents] of [
      ['__proto__', 240_000],
      ['constructor', 1_000],
      ['usd', 5_000],
    ] as const)
      await addPayment(admin, t.id, {
        contactId: a,
        source: 'stripe',
        category: 'full_purchase',
        amountCents,
        currency,
        paidAt: '2026-10-29T12:00:00Z',
      });

    const f = await computeReportFigures(app, t.id, week);
    expect(
      Object.getOwnPropertyNames(Object.prototype).filter((k) => ['payments', 'cash_collected_cents', 'projected_cents'].includes(k)),
    ).toEqual([]);
    expect(({} as Record<string, unknown>).payments).toBeUndefined();
    expect(f.revenue.cash_collected_cents).toBe(5_000);
    expect(Object.hasOwn(f.revenue.other_currencies ?? {}, '__proto__')).toBe(true);
    expect(Object.entries(f.revenue.other_currencies ?? {}).sort()).toEqual([
      ['__proto__', { cash_collected_cents: 240_000, projected_cents: 240_000, payments: 1 }],
      ['constructor', { cash_collected_cents: 1_000, projected_cents: 1_000, payments: 1 }],
    ]);
    expect(Object.hasOwn(f.leads_by_source, '__proto__')).toBe(true);
  });
});

describe('sums of signed amounts never overflow (red team, stop 32)', () => {
  // 1,100 refunds of 2^53 − 1 cents (11 signed charge.refunded events of 100, before normalizers bounded
  // amounts): sum(...)::bigint failed "bigint out of range" — the stats of EVERY tenant (one query) and
  // this tenant's report.
  it("a tenant's stored sum past bigint fails neither the all-tenant stats nor its own report", async () => {
    const t = await createTenant(admin, { name: 'Overflow Clinic', config: { timezone: 'UTC', currency: 'usd' } });
    const other = await createTenant(admin, { name: 'Bystander Clinic', config: { timezone: 'UTC', currency: 'usd' } });
    const a = await createContact(admin, t.id, { source: 'instagram' });
    await admin.sql`
      insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, currency, status, paid_at)
      select ${t.id}, ${a}, 're_' || g, 'stripe', 'refund', 'refund', -9007199254740991, 'usd', 'paid', ${new Date('2026-10-29T12:00:00Z')}
      from generate_series(1, 1100) g`;
    await addPayment(admin, other.id, {
      contactId: null,
      source: 'stripe',
      category: 'full_purchase',
      amountCents: 240_000,
      paidAt: '2026-10-29T12:00:00Z',
    });

    const stats = await getTenantStats(admin.sql, { since: week.start, until: week.end });
    expect(stats.find((s) => s.tenantId === other.id)?.revenueCents).toBe(240_000);
    expect(stats.find((s) => s.tenantId === t.id)?.revenueCents).toBeLessThan(-9e18);
    const f = await computeReportFigures(app, t.id, week);
    expect(f.revenue.cash_collected_cents).toBeLessThan(-9e18);
  });
});
