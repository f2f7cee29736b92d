import type { ReportWeekTense } from './wording';

/**
 * What the weekly report template shows. Structurally a subset of `ReportFigures` from
 * `@mcb/reports` (which passes its figures as they are), so the email can never show numbers
 * other than the ones `--format json` prints. Money in integer minor units of the report's `currency`
 * (cents, yen, fils); fractions 0..1.
 */
export interface WeeklyReportWeek {
  period: { start_date: string; end_date: string; timezone: string; hours: number };
  leads: number;
  purchases: number;
  leads_by_source: Record<string, number>;
  stages: ReadonlyArray<{ stage: string; label: string; count: number; conversion: number | null }>;
  revenue: {
    cash_collected_cents: number;
    projected_cents: number;
    by_category: Record<string, number>;
    by_source: Record<string, { cash_collected_cents: number; projected_cents: number }>;
    /** Payments in other currencies (by lowercase code, in its minor units), in none of the totals. */
    other_currencies?: Record<string, { cash_collected_cents: number; payments: number }>;
    /** The part of cash collected under an open or lost dispute; absent (or 0) when none. */
    disputed_cents?: number;
  };
  ads: {
    spend_cents: number;
    cost_per_lead_cents: number | null;
    cost_per_purchase_cents: number | null;
    roas: number | null;
    top: ReadonlyArray<{ ad_id: string; name: string | null; meetings_held: number; purchases: number; spend_cents: number }>;
    /** Spend in an ad account currency other than the report's: left out of spend, costs and ROAS. */
    other_currencies?: Record<string, { spend_cents: number }>;
  };
  /** Events sent to Meta's Conversions API in the week (absent or 0: the tenant does not send any). */
  conversions_sent?: { total: number; by_event: Record<string, number> };
}

export interface WeeklyReportFigures extends WeeklyReportWeek {
  tenant: { name: string };
  /** The report's currency (lowercase ISO 4217): every amount is written in it. */
  currency: string;
  change: {
    leads: number | null;
    purchases: number | null;
    cash_collected_cents: number | null;
    projected_cents: number | null;
    spend_cents: number | null;
    stages: Record<string, number | null>;
  };
  previous: WeeklyReportWeek;
}

export interface WeeklyReportProps {
  figures: WeeklyReportFigures;
  /** Greeting name: the tenant's `owner_name`, else the tenant name. */
  ownerName: string | null;
  /** Which week this is for the reader (running, last full week, other): decides "this week so far" vs "last week". */
  tense: ReportWeekTense;
}
