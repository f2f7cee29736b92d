import { createDatabase } from '@mcb/db';
import { type FunnelEventType, funnelEventTypes } from '@mcb/sources';
import { testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../test/factories';
import { seedScenario } from '../test/scenario';
import { computeReportFigures, type ReportChange, type ReportFigures, type ReportStage } from './figures';
import { weekContaining } from './week';

// The dataset is described person by person in ../test/scenario.ts. Every number below is worked
// out by hand from that table; the comments show the working.

const { databaseUrl } = testEnv();
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 2 });
let ny: { id: string; slug: string };
let utc: { id: string; slug: string };
let empty: { id: string; slug: string };

beforeAll(async () => {
  ny = await createTenant(admin, { name: 'NY Clinic', config: { timezone: 'America/New_York' } });
  utc = await createTenant(admin, { name: 'UTC Clinic', config: { timezone: 'UTC' } });
  empty = await createTenant(admin, { name: 'Empty Clinic', config: { timezone: 'America/New_York' } });
  await seedScenario(admin, ny.id);
  await seedScenario(admin, utc.id);
});
afterAll(async () => {
  await Promise.all([admin.close(), app.close()]);
});

/** All 17 event types, zero unless listed (the listed numbers are the hand-counted ones). */
function funnel(counts: Partial<Record<FunnelEventType, number>>): Record<FunnelEventType, number> {
  return Object.fromEntries(funnelEventTypes.map((t) => [t, counts[t] ?? 0])) as Record<FunnelEventType, number>;
}
/** All 17 event types, null (nothing last week) unless listed. */
function funnelChange(changes: Partial<Record<FunnelEventType, number>>): Record<FunnelEventType, number | null> {
  return Object.fromEntries(funnelEventTypes.map((t) => [t, changes[t] ?? null])) as Record<FunnelEventType, number | null>;
}
const stageNames = [
  ['new_lead', 'New leads'],
  ['dm_qualified', 'DM qualified'],
  ['landing_link_sent', 'Link sent'],
  ['landing_link_clicked', 'Link clicked'],
  ['form_submitted', 'Form submitted'],
  ['meeting_booked', 'Meeting booked'],
  ['meeting_held', 'Meeting held'],
  ['package_sent', 'Package sent'],
  ['deposit_paid', 'Deposit paid'],
  ['purchased', 'Purchased'],
] as const;
function stages(counts: number[], conversions: Array<number | null>): ReportStage[] {
  return stageNames.map(([stage, label], i) => ({ stage, label, count: counts[i] as number, conversion: conversions[i] as number | null }));
}
function stageChange(changes: Array<number | null>): ReportChange['stages'] {
  return Object.fromEntries(stageNames.map(([stage], i) => [stage, changes[i] as number | null])) as ReportChange['stages'];
}

describe('report figures, America/New_York, week of 2026-10-26 (DST ends Sun 11-01: 169 h)', () => {
  it('matches the hand-computed figures', async () => {
    const week = weekContaining('2026-10-29', 'America/New_York');
    expect(week.start.toISOString()).toBe('2026-10-26T04:00:00.000Z');
    expect(week.end.toISOString()).toBe('2026-11-02T05:00:00.000Z');
    const f = await computeReportFigures(app, ny.id, week);

    // In the week [10-26T04:00Z, 11-02T05:00Z):
    //   A: everything. B: scheduled 10-27, held 11-02 03:00, deposit 11-02 03:30 (its subscribe and form at
    //   10-26 02:00/03:30 are Sunday night the week before). C: held, plan, recurring. D (D1+D2): subscribed
    //   (D2), form (D2), scheduled (D1 and D2: one person). E: refunded. F, G (11-02 04:30 = Sun 23:30 EST): subscribed.
    // leads = people whose earliest event is in the week: A (10-27), F (10-30), G (11-02 04:30) = 3.
    //   B's first is 10-26 02:00 (week before), C's 09-01, D's 10-20 (D1; D2's 10-28 does not make D new), E's 10-21.
    // purchases = A (purchase_completed) + C (payment_plan_created) = 2.
    // cash = deposit B 10000 + full A 300000 + full orphan 150000 + downpayment C 50000 + recurring C 37500
    //        + refund E -50000 = 497500 (C's failed recurring is not money; E's full purchase was the week before).
    // projected = full 300000 + 150000 + plan 420000 + its downpayment 50000 = 920000.
    // spend = AD1 10000 + 12345 + 5000 + AD2 20000 + 3333 + AD3 1500 = 52178 (10-25 and 11-02 are outside).
    // cost/lead = 52178 / 3 = 17392.67 → 17393; cost/purchase = 52178 / 2 = 26089; ROAS = 497500 / 52178 = 9.5346 → 9.53.
    // Top ads: AD1 held A, B (2), purchased A (1), spend 27345; AD2 held C (1), purchased C (1), spend 23333 (D is AD2 but held nothing).
    //
    // Week before [10-19T04:00Z, 10-26T04:00Z): B subscribed + form; D1 subscribed; E subscribed + purchase_completed.
    //   leads = B, D, E = 3 (instagram B, D1; website E); purchases = E = 1; cash = projected = E's 200000 (stripe);
    //   spend = AD2 10-19 4000 + AD1 10-25 9999 = 13999; cost/lead = 4666.33 → 4666; cost/purchase = 13999;
    //   ROAS = 200000 / 13999 = 14.2867 → 14.29; no held meetings or purchases with an ad → no top ads.
    const expected: ReportFigures = {
      tenant: { id: ny.id, slug: ny.slug, name: 'NY Clinic' },
      currency: 'usd', // config.currency unset: usd
      period: {
        start: '2026-10-26T00:00:00-04:00',
        end: '2026-11-02T00:00:00-05:00',
        timezone: 'America/New_York',
        start_date: '2026-10-26',
        end_date: '2026-11-01',
        hours: 169,
      },
      leads: 3,
      leads_by_source: { instagram: 2, facebook: 1 },
      purchases: 2,
      funnel: funnel({
        contact_subscribed: 4, // A, D (via D2), F, G
        dm_qualified: 1,
        link_sent: 1,
        link_clicked: 1,
        form_submitted: 1, // D (B's was the week before)
        appointment_scheduled: 3, // A, B, D once
        appointment_held: 3, // A, B, C
        deposit_paid: 1, // B
        purchase_completed: 1, // A
        payment_plan_created: 1, // C
        recurring_payment_received: 1, // C
        payment_refunded: 1, // E
      }),
      // new_lead 3, dm 1 (1/3), sent 1, clicked 1, form 1, booked 3 (3/1), held 3, package 0 (0/3), deposit 1 (÷0), purchased 2 (2/1)
      stages: stages([3, 1, 1, 1, 1, 3, 3, 0, 1, 2], [null, 0.3333, 1, 1, 1, 3, 1, 0, null, 2]),
      revenue: {
        cash_collected_cents: 497500,
        projected_cents: 920000,
        by_category: {
          deposit: 10000,
          full_purchase: 450000,
          payment_plan: 420000,
          downpayment: 50000,
          recurring: 37500,
          refund: -50000,
          miscellaneous: 0,
        },
        by_source: {
          stripe: { cash_collected_cents: 410000, projected_cents: 450000 }, // 10000 + 300000 + 150000 - 50000
          denefits: { cash_collected_cents: 87500, projected_cents: 470000 }, // cash 50000 + 37500; plan 420000 + 50000 down
        },
      },
      ads: {
        spend_cents: 52178,
        cost_per_lead_cents: 17393,
        cost_per_purchase_cents: 26089,
        roas: 9.53,
        top: [
          { ad_id: 'AD1', name: 'Spring Promo – Reel', meetings_held: 2, purchases: 1, spend_cents: 27345 },
          { ad_id: 'AD2', name: 'Testimonial Carousel', meetings_held: 1, purchases: 1, spend_cents: 23333 },
        ],
      },
      conversions_sent: { total: 0, by_event: {} }, // no Conversions API sends in this scenario (see conversions.int.test.ts)
      change: {
        leads: 0, // (3 - 3) / 3
        purchases: 1, // (2 - 1) / 1
        cash_collected_cents: 1.4875, // (497500 - 200000) / 200000
        projected_cents: 3.6, // (920000 - 200000) / 200000
        spend_cents: 2.7273, // (52178 - 13999) / 13999 = 2.72727
        funnel: funnelChange({ contact_subscribed: 0.3333, form_submitted: 0, purchase_completed: 0 }),
        stages: stageChange([0, null, null, null, 0, null, null, null, null, 1]),
      },
      previous: {
        period: {
          start: '2026-10-19T00:00:00-04:00',
          end: '2026-10-26T00:00:00-04:00',
          timezone: 'America/New_York',
          start_date: '2026-10-19',
          end_date: '2026-10-25',
          hours: 168,
        },
        leads: 3,
        leads_by_source: { instagram: 2, website: 1 },
        purchases: 1,
        funnel: funnel({ contact_subscribed: 3, form_submitted: 1, purchase_completed: 1 }),
        stages: stages([3, 0, 0, 0, 1, 0, 0, 0, 0, 1], [null, 0, null, null, null, 0, null, null, null, null]),
        revenue: {
          cash_collected_cents: 200000,
          projected_cents: 200000,
          by_category: { deposit: 0, full_purchase: 200000, payment_plan: 0, downpayment: 0, recurring: 0, refund: 0, miscellaneous: 0 },
          by_source: { stripe: { cash_collected_cents: 200000, projected_cents: 200000 } },
        },
        ads: { spend_cents: 13999, cost_per_lead_cents: 4666, cost_per_purchase_cents: 13999, roas: 14.29, top: [] },
        conversions_sent: { total: 0, by_event: {} }, // no Conversions API sends in this scenario (see conversions.int.test.ts)
      },
    };
    expect(f).toEqual(expected);
  });

  it('covers a 167-hour week too (DST starts Sun 2026-03-08)', () => {
    const week = weekContaining('2026-03-08', 'America/New_York');
    expect([week.weekStart, week.weekEnd]).toEqual(['2026-03-02', '2026-03-08']);
    expect((week.end.getTime() - week.start.getTime()) / 3_600_000).toBe(167);
  });
});

describe('report figures, UTC, week of 2026-10-26', () => {
  it('matches the hand-computed figures', async () => {
    const week = weekContaining('2026-10-26', 'UTC');
    const f = await computeReportFigures(app, utc.id, week);

    // Same rows, UTC week [10-26T00:00Z, 11-02T00:00Z): B's subscribe and form (10-26 02:00/03:30) are now IN
    // the week, B's held meeting and deposit (11-02 03:00/03:30) and G's subscribe (11-02 04:30) are next week.
    // leads = A, B, F = 3 (instagram A, B; facebook F). purchases = A, C = 2.
    // cash = full 300000 + 150000 + downpayment 50000 + recurring 37500 + refund -50000 = 487500 (no deposit).
    // projected = 300000 + 150000 + 420000 + 50000 = 920000. spend = 52178 (insights are by local date: unchanged).
    // cost/lead = 17393, cost/purchase = 26089, ROAS = 487500 / 52178 = 9.3430 → 9.34.
    // Top ads: AD1 held A (1), purchased A (1); AD2 held C (1), purchased C (1): tie, AD1 first on spend (27345 > 23333).
    // Week before [10-19T00:00Z, 10-26T00:00Z): D1 subscribed, E subscribed + purchase_completed → leads 2
    //   (instagram D, website E), purchases 1, cash = projected = 200000, spend 13999,
    //   cost/lead = 13999 / 2 = 6999.5 → 7000 (half up), cost/purchase 13999, ROAS 14.29.
    const expected: ReportFigures = {
      tenant: { id: utc.id, slug: utc.slug, name: 'UTC Clinic' },
      currency: 'usd', // config.currency unset: usd
      period: {
        start: '2026-10-26T00:00:00Z',
        end: '2026-11-02T00:00:00Z',
        timezone: 'UTC',
        start_date: '2026-10-26',
        end_date: '2026-11-01',
        hours: 168,
      },
      leads: 3,
      leads_by_source: { instagram: 2, facebook: 1 },
      purchases: 2,
      funnel: funnel({
        contact_subscribed: 4, // A, B, D (via D2), F
        dm_qualified: 1,
        link_sent: 1,
        link_clicked: 1,
        form_submitted: 2, // B, D
        appointment_scheduled: 3, // A, B, D once
        appointment_held: 2, // A, C
        purchase_completed: 1,
        payment_plan_created: 1,
        recurring_payment_received: 1,
        payment_refunded: 1,
      }),
      // new_lead 3, dm 1, sent 1, clicked 1, form 2 (2/1), booked 3 (3/2), held 2 (2/3), package 0, deposit 0 (÷0), purchased 2 (÷0)
      stages: stages([3, 1, 1, 1, 2, 3, 2, 0, 0, 2], [null, 0.3333, 1, 1, 2, 1.5, 0.6667, 0, null, null]),
      revenue: {
        cash_collected_cents: 487500,
        projected_cents: 920000,
        by_category: {
          deposit: 0,
          full_purchase: 450000,
          payment_plan: 420000,
          downpayment: 50000,
          recurring: 37500,
          refund: -50000,
          miscellaneous: 0,
        },
        by_source: {
          stripe: { cash_collected_cents: 400000, projected_cents: 450000 },
          denefits: { cash_collected_cents: 87500, projected_cents: 470000 },
        },
      },
      ads: {
        spend_cents: 52178,
        cost_per_lead_cents: 17393,
        cost_per_purchase_cents: 26089,
        roas: 9.34,
        top: [
          { ad_id: 'AD1', name: 'Spring Promo – Reel', meetings_held: 1, purchases: 1, spend_cents: 27345 },
          { ad_id: 'AD2', name: 'Testimonial Carousel', meetings_held: 1, purchases: 1, spend_cents: 23333 },
        ],
      },
      conversions_sent: { total: 0, by_event: {} }, // no Conversions API sends in this scenario (see conversions.int.test.ts)
      change: {
        leads: 0.5, // (3 - 2) / 2
        purchases: 1,
        cash_collected_cents: 1.4375, // (487500 - 200000) / 200000
        projected_cents: 3.6,
        spend_cents: 2.7273,
        funnel: funnelChange({ contact_subscribed: 1, purchase_completed: 0 }), // (4 - 2) / 2; (1 - 1) / 1
        stages: stageChange([0.5, null, null, null, null, null, null, null, null, 1]),
      },
      previous: {
        period: {
          start: '2026-10-19T00:00:00Z',
          end: '2026-10-26T00:00:00Z',
          timezone: 'UTC',
          start_date: '2026-10-19',
          end_date: '2026-10-25',
          hours: 168,
        },
        leads: 2,
        leads_by_source: { instagram: 1, website: 1 },
        purchases: 1,
        funnel: funnel({ contact_subscribed: 2, purchase_completed: 1 }),
        stages: stages([2, 0, 0, 0, 0, 0, 0, 0, 0, 1], [null, 0, null, null, null, null, null, null, null, null]),
        revenue: {
          cash_collected_cents: 200000,
          projected_cents: 200000,
          by_category: { deposit: 0, full_purchase: 200000, payment_plan: 0, downpayment: 0, recurring: 0, refund: 0, miscellaneous: 0 },
          by_source: { stripe: { cash_collected_cents: 200000, projected_cents: 200000 } },
        },
        ads: { spend_cents: 13999, cost_per_lead_cents: 7000, cost_per_purchase_cents: 13999, roas: 14.29, top: [] },
        conversions_sent: { total: 0, by_event: {} }, // no Conversions API sends in this scenario (see conversions.int.test.ts)
      },
    };
    expect(f).toEqual(expected);
  });
});

describe('report figures, isolation and empty weeks', () => {
  it('sees only its own tenant (RLS): a tenant with no rows gets zeros and nulls, not the others’ data', async () => {
    const f = await computeReportFigures(app, empty.id, weekContaining('2026-10-26', 'America/New_York'));
    expect(f.leads).toBe(0);
    expect(f.purchases).toBe(0);
    expect(f.funnel).toEqual(funnel({}));
    expect(f.revenue.cash_collected_cents).toBe(0);
    expect(f.revenue.by_source).toEqual({});
    expect(f.ads).toEqual({ spend_cents: 0, cost_per_lead_cents: null, cost_per_purchase_cents: null, roas: null, top: [] });
    expect(f.change.leads).toBeNull();
    expect(f.stages.every((s) => s.count === 0 && s.conversion === null)).toBe(true);
  });

  it('refuses a tenant id it cannot see', async () => {
    await expect(computeReportFigures(app, '00000000-0000-4000-8000-000000000000', weekContaining('2026-10-26', 'UTC'))).rejects.toThrow(
      /Unknown tenant id/,
    );
  });
});
