import type { WeeklyReportFigures, WeeklyReportWeek } from '../src/weekly-report-types';

const stageLabels = [
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

/** A week of figures for template tests (shape of `ReportFigures`; numbers are arbitrary but consistent). */
export function sampleWeek(counts: number[], overrides: Partial<WeeklyReportWeek> = {}): WeeklyReportWeek {
  return {
    period: { start_date: '2026-12-28', end_date: '2027-01-03', timezone: 'Europe/Berlin', hours: 168 },
    leads: counts[0] ?? 0,
    purchases: counts[9] ?? 0,
    leads_by_source: { instagram: counts[0] ?? 0 },
    stages: stageLabels.map(([stage, label], i) => ({ stage, label, count: counts[i] ?? 0, conversion: null })),
    revenue: {
      cash_collected_cents: 123456789,
      projected_cents: 5,
      by_category: { deposit: 10000, full_purchase: 123446789, payment_plan: 0, downpayment: 0, recurring: 0, refund: 0 },
      by_source: { stripe: { cash_collected_cents: 123456789, projected_cents: 5 } },
    },
    ads: { spend_cents: 0, cost_per_lead_cents: null, cost_per_purchase_cents: null, roas: null, top: [] },
    ...overrides,
  };
}

export function sampleFigures(): WeeklyReportFigures {
  const week = sampleWeek([1200, 600, 300, 150, 75, 40, 20, 10, 5, 1]);
  return {
    ...week,
    tenant: { name: 'Columnline AI' },
    currency: 'usd',
    change: { leads: 0.5, purchases: -0.5, cash_collected_cents: null, projected_cents: 0, spend_cents: null, stages: { new_lead: 0.5 } },
    previous: sampleWeek([800, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
  };
}
