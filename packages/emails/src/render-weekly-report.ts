import { render } from '@react-email/render';
import { createElement } from 'react';
import {
  adSpendNote,
  conversionsLine,
  dash,
  disputedLine,
  formatCents,
  formatChange,
  formatCount,
  formatOptionalCents,
  formatPercent,
  formatRoas,
  formatWeekRange,
  formatWeekRangeWithYear,
  leadSourcesForReport,
  oneLine,
  otherCurrenciesLine,
  plural,
} from './format';
import { WeeklyReport } from './weekly-report';
import type { WeeklyReportFigures, WeeklyReportProps } from './weekly-report-types';
import { capitalize, type ReportWeekTense, weekWording } from './wording';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/**
 * `<Tenant> weekly: <Mon d – Sun d> · $<cash> collected` (SPEC §7), the cash in the report's currency
 * (`£1,234.56`, `¥5,000`), `… collected so far` for a week still running.
 */
export function buildWeeklyReportSubject(figures: WeeklyReportFigures, tense: ReportWeekTense): string {
  const range = formatWeekRange(figures.period.start_date, figures.period.end_date);
  const suffix = weekWording(tense, figures.period).subjectSuffix;
  // One line whatever the name holds: a line break in a subject is a header of its own (red team, stop 37).
  return `${oneLine(figures.tenant.name, 200)} weekly: ${range} · ${formatCents(figures.revenue.cash_collected_cents, figures.currency)} collected${suffix}`;
}

function line(label: string, value: string, width = 28): string {
  return `${label.padEnd(width, ' ')}${value}`;
}

/**
 * The plain-text part, written from the same figures as the HTML (a converted bar-chart table
 * reads badly): same sections, same numbers, bars drawn with `#`.
 */
export function renderWeeklyReportText({ figures: f, ownerName, tense }: WeeklyReportProps): string {
  const greeting = ownerName?.trim() || f.tenant.name;
  const w = weekWording(tense, f.period);
  const money = (minor: number) => formatCents(minor, f.currency);
  const optionalMoney = (minor: number | null) => formatOptionalCents(minor, f.currency);
  const maxStage = Math.max(0, ...f.stages.map((st) => st.count));
  const out: string[] = [
    `${f.tenant.name} · weekly report · ${formatWeekRangeWithYear(f.period.start_date, f.period.end_date)}`,
    '',
    `Hi ${greeting},`,
    '',
    `${w.intro}.`,
    '',
    line('Cash collected', `${money(f.revenue.cash_collected_cents)}  (${formatChange(f.change.cash_collected_cents)} vs ${w.previous})`),
    line('New leads', `${formatCount(f.leads)}  (${formatChange(f.change.leads)})`),
    line('Purchases', `${formatCount(f.purchases)}  (${formatChange(f.change.purchases)})`),
    line('Ad spend', `${money(f.ads.spend_cents)}  (${formatChange(f.change.spend_cents)})`),
    '',
    `FUNNEL (people, conversion from the stage before, change vs ${w.previous})`,
  ];
  for (const st of f.stages) {
    const bar = '#'.repeat(maxStage > 0 ? Math.round((st.count / maxStage) * 20) : 0).padEnd(20, '.');
    const conv = st.conversion === null ? dash : formatPercent(st.conversion);
    out.push(
      `${st.label.padEnd(16, ' ')} ${bar} ${formatCount(st.count).padStart(6, ' ')}  ${conv.padStart(6, ' ')}  ${formatChange(f.change.stages[st.stage] ?? null)}`,
    );
  }
  const leadSources = leadSourcesForReport(f.leads_by_source);
  if (leadSources.length) out.push(`New leads by source: ${leadSources.map(([src, n]) => `${src} ${n}`).join(', ')}`);
  const c = f.revenue.by_category;
  out.push(
    '',
    'REVENUE',
    line('Deposits', money(c.deposit ?? 0)),
    line('Full purchases', money(c.full_purchase ?? 0)),
    line('Plan downpayments', money(c.downpayment ?? 0)),
    line('Recurring plan payments', money(c.recurring ?? 0)),
    line('Refunds', money(c.refund ?? 0)),
    line('Cash collected', money(f.revenue.cash_collected_cents)),
  );
  const disputed = disputedLine(f.revenue.disputed_cents, f.currency);
  if (disputed) out.push(line('', disputed));
  out.push(
    line(
      'Projected revenue',
      `${money(f.revenue.projected_cents)}  (full purchases ${money(c.full_purchase ?? 0)} + plan values ${money((c.payment_plan ?? 0) + (c.downpayment ?? 0))})`,
    ),
  );
  for (const [src, v] of Object.entries(f.revenue.by_source).sort(([a], [b]) => a.localeCompare(b))) {
    out.push(line(`  ${src}`, `${money(v.cash_collected_cents)} collected / ${money(v.projected_cents)} projected`));
  }
  const otherCurrencies = otherCurrenciesLine(f.revenue.other_currencies);
  if (otherCurrencies) out.push(otherCurrencies);
  out.push(
    '',
    'ADS',
    line('Spend', money(f.ads.spend_cents)),
    line('Cost per lead', optionalMoney(f.ads.cost_per_lead_cents)),
    line('Cost per purchase', optionalMoney(f.ads.cost_per_purchase_cents)),
    line('ROAS', formatRoas(f.ads.roas)),
  );
  const spendNote = adSpendNote(f.ads, f.previous.ads, f.currency, w);
  if (spendNote) out.push(spendNote);
  const conversions = conversionsLine(f.conversions_sent, f.previous.conversions_sent, w.previous);
  if (conversions) out.push(conversions);
  out.push('', 'TOP ADS (meetings held, purchases, spend)');
  if (f.ads.top.length === 0) out.push(`No meetings held or purchases from a known ad ${w.week}.`);
  for (const [i, ad] of f.ads.top.entries()) {
    out.push(
      `${i + 1}. ${oneLine(ad.name ?? 'Unnamed ad')} (${oneLine(ad.ad_id, 40)}): ${formatCount(ad.meetings_held)} held, ${plural(ad.purchases, 'purchase')}, ${money(ad.spend_cents)}`,
    );
  }
  out.push(
    '',
    '--',
    `Period: Monday ${f.period.start_date} 00:00 to Sunday ${f.period.end_date} 24:00, ${f.period.timezone} (${f.period.hours} hours).`,
    `${capitalize(w.previous)} (${formatWeekRange(f.previous.period.start_date, f.previous.period.end_date)}): ${money(f.previous.revenue.cash_collected_cents)} collected, ${plural(f.previous.leads, 'new lead')}, ${plural(f.previous.purchases, 'purchase')}.`,
  );
  return `${out.join('\n')}\n`;
}

/** Renders the weekly report: subject, HTML (React Email) and plain text, all from the same figures. */
export async function renderWeeklyReport(props: WeeklyReportProps): Promise<RenderedEmail> {
  const html = await render(createElement(WeeklyReport, props));
  return { subject: buildWeeklyReportSubject(props.figures, props.tense), html, text: renderWeeklyReportText(props) };
}
