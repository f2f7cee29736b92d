import { formatMoney } from '@mcb/core';

/** Shown for a figure that has no value (a cost or ratio whose divisor is 0). */
export const dash = '—';

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Integer minor units of `currency` (default usd) as money, exact (no float; `formatMoney`):
 * 123456 → `$1,234.56`, -5000 → `-$50.00`, (123456, 'gbp') → `£1,234.56`, (5000, 'jpy') → `¥5,000`.
 */
export function formatCents(cents: number, currency = 'usd'): string {
  return formatMoney(cents, currency);
}

/** Minor units of `currency` as money, or `—` for null. */
export function formatOptionalCents(cents: number | null, currency = 'usd'): string {
  return cents === null ? dash : formatCents(cents, currency);
}

/**
 * `includes £497.00 in disputed payments`: the line under cash collected when part of it is under an
 * open or lost dispute (the figure stays SPEC §7's); null when none is, so such a report reads as before.
 */
export function disputedLine(disputedCents: number | undefined, currency = 'usd'): string | null {
  return disputedCents ? `includes ${formatCents(disputedCents, currency)} in disputed payments` : null;
}

/** The ad figures a note under them looks at. */
interface AdSpend {
  spend_cents: number;
  /** As the cost cells show them: an amount, or null (`—`, no leads / purchases). */
  cost_per_lead_cents: number | null;
  cost_per_purchase_cents: number | null;
  /** Spend in an ad account currency other than the report's (left out of the figures). */
  other_currencies?: Record<string, { spend_cents: number }>;
}

/** `¥500,000 + €20.00`, by code. */
function otherCurrencySpend(other: Record<string, { spend_cents: number }>): string {
  return Object.entries(other)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, v]) => formatCents(v.spend_cents, code))
    .join(' + ');
}

/**
 * The note under the ad figures, or null. When either week has spend in another currency than the
 * report's (a Meta ad account in yen for a tenant reporting in pounds), that spend was left out and
 * costs and ROAS have no value: the note says so, with the amounts. Else, when neither week has any
 * spend: the figures stay the ones `--format json` gives (SPEC §7: the same numbers everywhere; a cost
 * per lead is null only without leads), so a week with leads and no spend reads "$0.00" per lead, and
 * the note says why, lest a client read free leads — in the words of the cells it explains: "$0.00"
 * where a cost is 0, no value where it is null (`—`). `labels` name the two weeks (`weekWording`).
 */
export function adSpendNote(
  current: AdSpend,
  previous: AdSpend,
  currency: string,
  labels: { week: string; previous: string },
): string | null {
  const elsewhere = [
    current.other_currencies && `${otherCurrencySpend(current.other_currencies)} ${labels.week}`,
    previous.other_currencies && `${otherCurrencySpend(previous.other_currencies)} ${labels.previous}`,
  ].filter((part): part is string => !!part);
  if (elsewhere.length)
    return `Ad spend in another currency than this report's (${currency.toUpperCase()}) is left out of spend, costs and ROAS: ${elsewhere.join('; ')}.`;
  if (current.spend_cents !== 0 || previous.spend_cents !== 0) return null;
  const costs = [current, previous].flatMap((w) => [w.cost_per_lead_cents, w.cost_per_purchase_cents]);
  const zero = formatCents(0, currency);
  const shown = !costs.some((c) => c !== null)
    ? 'costs per lead and per purchase and ROAS have no value'
    : costs.some((c) => c === null)
      ? `costs per lead and per purchase read ${zero} (${dash} without leads or purchases) and ROAS has no value`
      : `costs per lead and per purchase read ${zero} and ROAS has no value`;
  return `No ad spend recorded for either week (Meta Ads not connected, or no ads running), so ${shown}.`;
}

/**
 * "Also collected, not in these totals: ¥5,000 (1 payment) · €12.00 (2 payments)." — payments of the
 * week in currencies other than the report's, by code; null when there are none. A currency with
 * projected money (a financing plan) says it too — "$200.00 collected, $1,100.00 projected (3
 * payments)" — or the count of payments named money the line did not show (operator walk, stop 38).
 */
export function otherCurrenciesLine(
  other: Record<string, { cash_collected_cents: number; projected_cents?: number; payments: number }> | undefined,
): string | null {
  const entries = Object.entries(other ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return null;
  const parts = entries.map(([code, v]) =>
    // Projected money counts the cash too (a sale is both): named only when a plan adds to it.
    v.projected_cents !== undefined && v.projected_cents > v.cash_collected_cents
      ? `${formatCents(v.cash_collected_cents, code)} collected, ${formatCents(v.projected_cents, code)} projected (${plural(v.payments, 'payment')})`
      : `${formatCents(v.cash_collected_cents, code)} (${plural(v.payments, 'payment')})`,
  );
  return `Also collected, not in these totals: ${parts.join(' · ')}.`;
}

/** A count with thousands separators. */
export function formatCount(n: number): string {
  return `${n < 0 ? '-' : ''}${groupThousands(String(Math.abs(n)))}`;
}

/** A fraction as a percentage with at most one decimal: 0.3333 → `33.3%`; null → `—`. */
export function formatPercent(fraction: number | null): string {
  if (fraction === null) return dash;
  return `${Number((fraction * 100).toFixed(1))}%`;
}

/** A week-over-week change: 0.25 → `+25%`, -0.1 → `-10%`, 0 → `±0%`, null → `—` (nothing to compare). */
export function formatChange(fraction: number | null): string {
  if (fraction === null) return dash;
  const pct = Number((fraction * 100).toFixed(1));
  if (pct === 0) return '±0%';
  return `${pct > 0 ? '+' : ''}${pct}%`;
}

/** ROAS as `2.35×`, or `—`. */
export function formatRoas(roas: number | null): string {
  return roas === null ? dash : `${roas.toFixed(2)}×`;
}

function parts(isoDate: string): { y: number; m: number; d: number } {
  const [y, m, d] = isoDate.split('-').map(Number);
  return { y: y as number, m: m as number, d: d as number };
}

/** `YYYY-MM-DD` → `Oct 26`. */
export function formatShortDate(isoDate: string): string {
  const { m, d } = parts(isoDate);
  return `${months[m - 1]} ${d}`;
}

/** `Mon d – Sun d` for a week: `Oct 26 – Nov 1`. */
export function formatWeekRange(startDate: string, endDate: string): string {
  return `${formatShortDate(startDate)} – ${formatShortDate(endDate)}`;
}

/** `Oct 26 – Nov 1, 2026` (or `Dec 28, 2026 – Jan 3, 2027` across a new year). */
export function formatWeekRangeWithYear(startDate: string, endDate: string): string {
  const a = parts(startDate);
  const b = parts(endDate);
  if (a.y === b.y) return `${formatWeekRange(startDate, endDate)}, ${b.y}`;
  return `${formatShortDate(startDate)}, ${a.y} – ${formatShortDate(endDate)}, ${b.y}`;
}

/** `1 purchase`, `2 purchases` (count with thousands separators). */
export function plural(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * "Conversions sent to Meta: 12 (Lead 9 · Purchase 3); the week before 4." — null when neither week
 * sent any (the tenant has no Conversions API integration, or nothing happened).
 */
export function conversionsLine(
  current: { total: number; by_event: Record<string, number> } | undefined,
  previous: { total: number; by_event: Record<string, number> } | undefined,
  previousLabel: string,
): string | null {
  const now = current?.total ?? 0;
  const before = previous?.total ?? 0;
  if (now === 0 && before === 0) return null;
  const parts = Object.entries(current?.by_event ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${formatCount(n)}`);
  return `Conversions sent to Meta: ${formatCount(now)}${parts.length ? ` (${parts.join(' · ')})` : ''}; ${previousLabel} ${formatCount(before)}.`;
}

/** Line breaks, tabs, other C0/C1 controls, DEL, bidi controls and line/paragraph separators. */
const unprintable = (code: number): boolean =>
  code < 0x20 ||
  (code >= 0x7f && code <= 0x9f) ||
  code === 0x200e ||
  code === 0x200f ||
  code === 0x2028 ||
  code === 0x2029 ||
  (code >= 0x202a && code <= 0x202e) ||
  (code >= 0x2066 && code <= 0x2069);

/**
 * Text that came from a webhook sender or a provider (ad ids and names, lead sources), as one
 * printable line of at most `max` characters: it cannot add lines to the plain-text email (a forged
 * "REVENUE (corrected)" section), move the cursor of a terminal showing it, or reorder what follows.
 */
export function oneLine(value: string, max = 80): string {
  let spaced = '';
  for (let i = 0; i < value.length; i++) spaced += unprintable(value.charCodeAt(i)) ? ' ' : value[i];
  const flat = spaced.replace(/ {2,}/g, ' ').trim();
  const chars = [...flat];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : flat;
}

/**
 * New leads per source, most first, for the report: at most `max` named (each `oneLine`), the rest
 * summed as `others` — a contact's source is whatever a sender put there, so there may be thousands.
 */
export function leadSourcesForReport(bySource: Record<string, number>, max = 8): Array<[string, number]> {
  const sorted = Object.entries(bySource).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const named = sorted.slice(0, max).map(([src, n]): [string, number] => [oneLine(src, 40), n]);
  const rest = sorted.slice(max).reduce((sum, [, n]) => sum + n, 0);
  return rest > 0 ? [...named, [`${sorted.length - max} others`, rest]] : named;
}
