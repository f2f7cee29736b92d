/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { Body, Container, Head, Heading, Hr, Html, Preview, Section, Text } from '@react-email/components';
import type { CSSProperties, ReactNode } from 'react';
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
import type { WeeklyReportProps } from './weekly-report-types';
import { capitalize, weekWording } from './wording';

const colors = {
  page: '#f4f5f7',
  card: '#ffffff',
  ink: '#111827',
  muted: '#6b7280',
  line: '#e5e7eb',
  bar: '#4f46e5',
  barTrack: '#eef0fb',
  up: '#047857',
  down: '#b91c1c',
};

const font = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";

const s = {
  body: { backgroundColor: colors.page, fontFamily: font, margin: 0, padding: '24px 0' },
  container: { backgroundColor: colors.card, borderRadius: '8px', maxWidth: '640px', padding: '32px', border: `1px solid ${colors.line}` },
  eyebrow: { color: colors.muted, fontSize: '12px', letterSpacing: '0.06em', textTransform: 'uppercase', margin: '0 0 4px' },
  h1: { color: colors.ink, fontSize: '22px', lineHeight: '28px', margin: '0 0 16px' },
  h2: { color: colors.ink, fontSize: '16px', margin: '28px 0 8px' },
  p: { color: colors.ink, fontSize: '15px', lineHeight: '22px', margin: '0 0 12px' },
  small: { color: colors.muted, fontSize: '12px', lineHeight: '18px', margin: '0' },
  tile: { border: `1px solid ${colors.line}`, borderRadius: '6px', padding: '12px', verticalAlign: 'top' },
  tileLabel: { color: colors.muted, fontSize: '12px', margin: '0 0 4px' },
  tileValue: { color: colors.ink, fontSize: '20px', fontWeight: 700, margin: '0 0 2px' },
  cell: { color: colors.ink, fontSize: '14px', padding: '6px 8px 6px 0', borderBottom: `1px solid ${colors.line}` },
  cellNum: { color: colors.ink, fontSize: '14px', padding: '6px 0 6px 8px', borderBottom: `1px solid ${colors.line}`, textAlign: 'right' },
  th: {
    color: colors.muted,
    fontSize: '12px',
    fontWeight: 600,
    padding: '4px 8px 4px 0',
    textAlign: 'left',
    borderBottom: `1px solid ${colors.line}`,
  },
  thNum: {
    color: colors.muted,
    fontSize: '12px',
    fontWeight: 600,
    padding: '4px 0 4px 8px',
    textAlign: 'right',
    borderBottom: `1px solid ${colors.line}`,
  },
  total: { fontWeight: 700 },
} satisfies Record<string, CSSProperties>;

function changeStyle(fraction: number | null, goodWhenUp = true): CSSProperties {
  if (fraction === null || fraction === 0) return { color: colors.muted };
  return { color: fraction > 0 === goodWhenUp ? colors.up : colors.down };
}

function Tile({ label, value, note, noteStyle }: { label: string; value: string; note: string; noteStyle?: CSSProperties }) {
  return (
    <td style={s.tile} width="25%">
      <p style={s.tileLabel}>{label}</p>
      <p style={s.tileValue}>{value}</p>
      <p style={{ ...s.small, ...noteStyle }}>{note}</p>
    </td>
  );
}

/** A headline tile with its week-over-week change, coloured good/bad. */
function ChangeTile({
  label,
  value,
  delta,
  previous,
  goodWhenUp = true,
  comparable = true,
}: {
  label: string;
  value: string;
  delta: number | null;
  /** How the week compared against is named (`last week`, `the week before`). */
  previous: string;
  goodWhenUp?: boolean;
  /** False when the two weeks' figures cannot be compared (ad spend partly in another currency): no change, whatever `delta`. */
  comparable?: boolean;
}) {
  const note = !comparable ? `${dash} vs ${previous}` : delta === null ? `nothing ${previous}` : `${formatChange(delta)} vs ${previous}`;
  return <Tile label={label} value={value} note={note} noteStyle={changeStyle(delta, goodWhenUp)} />;
}

function TileRow({ children }: { children: ReactNode }) {
  return (
    <Section>
      <table width="100%" cellPadding={0} cellSpacing={6} role="presentation">
        <tbody>
          <tr>{children}</tr>
        </tbody>
      </table>
    </Section>
  );
}

function Table({ children }: { children: ReactNode }) {
  return (
    <table width="100%" cellPadding={0} cellSpacing={0} role="presentation" style={{ borderCollapse: 'collapse' }}>
      <tbody>{children}</tbody>
    </table>
  );
}

/** One funnel row: the bar is a two-cell table whose first cell's width is the share of the widest stage. */
function FunnelBar({ count, max }: { count: number; max: number }) {
  const pct = max > 0 ? Math.max(count > 0 ? 1 : 0, Math.round((count / max) * 100)) : 0;
  return (
    <table width="100%" cellPadding={0} cellSpacing={0} role="presentation" style={{ borderCollapse: 'collapse' }}>
      <tbody>
        <tr>
          {pct > 0 ? (
            <td width={`${pct}%`} height="14" style={{ backgroundColor: colors.bar, height: '14px', lineHeight: '14px', fontSize: '1px' }}>
              &nbsp;
            </td>
          ) : null}
          {pct < 100 ? (
            <td
              width={`${100 - pct}%`}
              height="14"
              style={{ backgroundColor: colors.barTrack, height: '14px', lineHeight: '14px', fontSize: '1px' }}
            >
              &nbsp;
            </td>
          ) : null}
        </tr>
      </tbody>
    </table>
  );
}

const categoryLabels: Array<[string, string]> = [
  ['deposit', 'Deposits'],
  ['full_purchase', 'Full purchases'],
  ['downpayment', 'Plan downpayments'],
  ['recurring', 'Recurring plan payments'],
  ['refund', 'Refunds'],
];

/** The weekly report email (SPEC §7): email-safe tables and inline styles only — no images, no SVG. */
export function WeeklyReport({ figures, ownerName, tense }: WeeklyReportProps) {
  const f = figures;
  const w = weekWording(tense, f.period);
  const p = figures.previous;
  const greetingName = ownerName?.trim() || f.tenant.name;
  const range = formatWeekRange(f.period.start_date, f.period.end_date);
  const maxStage = Math.max(0, ...f.stages.map((st) => st.count));
  const cash = f.revenue.cash_collected_cents;
  const sources = Object.entries(f.revenue.by_source).sort(([a], [b]) => a.localeCompare(b));
  const leadSources = leadSourcesForReport(f.leads_by_source);
  const money = (minor: number) => formatCents(minor, f.currency);
  const optionalMoney = (minor: number | null) => formatOptionalCents(minor, f.currency);
  const otherCurrencies = otherCurrenciesLine(f.revenue.other_currencies);
  const disputed = disputedLine(f.revenue.disputed_cents, f.currency);
  const spendNote = adSpendNote(f.ads, p.ads, f.currency, w);
  const conversions = conversionsLine(f.conversions_sent, p.conversions_sent, w.previous);
  return (
    <Html lang="en">
      <Head />
      <Preview>{`${range}: ${money(cash)} collected${w.subjectSuffix}, ${plural(f.leads, 'new lead')}, ${plural(f.purchases, 'purchase')}`}</Preview>
      <Body style={s.body}>
        <Container style={s.container}>
          <Text style={s.eyebrow}>{`${f.tenant.name} · weekly report`}</Text>
          <Heading as="h1" style={s.h1}>
            {formatWeekRangeWithYear(f.period.start_date, f.period.end_date)}
          </Heading>
          <Text style={s.p}>{`Hi ${greetingName},`}</Text>
          <Text style={s.p}>
            {`${w.intro}: ${money(cash)} collected, ${plural(f.purchases, 'purchase')} and ${plural(f.leads, 'new lead')}.`}
          </Text>

          <TileRow>
            <ChangeTile label="Cash collected" value={money(cash)} delta={f.change.cash_collected_cents} previous={w.previous} />
            <ChangeTile label="New leads" value={formatCount(f.leads)} delta={f.change.leads} previous={w.previous} />
            <ChangeTile label="Purchases" value={formatCount(f.purchases)} delta={f.change.purchases} previous={w.previous} />
            <ChangeTile
              label="Ad spend"
              value={money(f.ads.spend_cents)}
              delta={f.change.spend_cents}
              previous={w.previous}
              goodWhenUp={false}
              comparable={!f.ads.other_currencies && !p.ads.other_currencies}
            />
          </TileRow>

          <Heading as="h2" style={s.h2}>
            Funnel
          </Heading>
          <Table>
            <tr>
              <th style={s.th}>Stage</th>
              <th style={s.th} />
              <th style={s.thNum}>People</th>
              <th style={s.thNum}>From prev.</th>
              <th style={s.thNum}>{`vs ${w.previousShort}`}</th>
            </tr>
            {f.stages.map((st) => (
              <tr key={st.stage}>
                <td style={{ ...s.cell, whiteSpace: 'nowrap' }} width="28%">
                  {st.label}
                </td>
                <td style={s.cell} width="34%">
                  <FunnelBar count={st.count} max={maxStage} />
                </td>
                <td style={s.cellNum}>{formatCount(st.count)}</td>
                <td style={{ ...s.cellNum, color: colors.muted }}>{st.conversion === null ? dash : formatPercent(st.conversion)}</td>
                <td style={{ ...s.cellNum, ...changeStyle(f.change.stages[st.stage] ?? null) }}>
                  {formatChange(f.change.stages[st.stage] ?? null)}
                </td>
              </tr>
            ))}
          </Table>
          {leadSources.length > 0 ? (
            <Text style={{ ...s.small, marginTop: '8px' }}>
              {`New leads by source: ${leadSources.map(([src, n]) => `${src} ${formatCount(n)}`).join(' · ')}`}
            </Text>
          ) : null}

          <Heading as="h2" style={s.h2}>
            Revenue
          </Heading>
          <Table>
            {categoryLabels.map(([key, label]) => (
              <tr key={key}>
                <td style={s.cell}>{label}</td>
                <td style={s.cellNum}>{money(f.revenue.by_category[key] ?? 0)}</td>
              </tr>
            ))}
            <tr>
              <td style={{ ...s.cell, ...s.total }}>Cash collected</td>
              <td style={{ ...s.cellNum, ...s.total }}>{money(cash)}</td>
            </tr>
            {disputed ? (
              <tr>
                <td style={{ ...s.cell, ...s.small }} colSpan={2}>
                  {disputed}
                </td>
              </tr>
            ) : null}
            <tr>
              <td style={s.cell}>Full purchases + payment plan values</td>
              <td style={s.cellNum}>
                {`${money(f.revenue.by_category.full_purchase ?? 0)} + ${money((f.revenue.by_category.payment_plan ?? 0) + (f.revenue.by_category.downpayment ?? 0))}`}
              </td>
            </tr>
            <tr>
              <td style={{ ...s.cell, ...s.total }}>Projected revenue</td>
              <td style={{ ...s.cellNum, ...s.total }}>
                {`${money(f.revenue.projected_cents)} `}
                <span style={{ ...changeStyle(f.change.projected_cents), fontWeight: 400, fontSize: '12px' }}>
                  {`(${formatChange(f.change.projected_cents)})`}
                </span>
              </td>
            </tr>
          </Table>
          {sources.length > 0 ? (
            <Text style={{ ...s.small, marginTop: '8px' }}>
              {`By source: ${sources
                .map(([src, v]) => `${src} ${money(v.cash_collected_cents)} collected / ${money(v.projected_cents)} projected`)
                .join(' · ')}`}
            </Text>
          ) : null}
          {otherCurrencies ? <Text style={{ ...s.small, marginTop: '8px' }}>{otherCurrencies}</Text> : null}

          <Heading as="h2" style={s.h2}>
            Ads
          </Heading>
          <TileRow>
            <Tile label="Spend" value={money(f.ads.spend_cents)} note={`${w.previous} ${money(p.ads.spend_cents)}`} />
            <Tile
              label="Cost per lead"
              value={optionalMoney(f.ads.cost_per_lead_cents)}
              note={`${w.previous} ${optionalMoney(p.ads.cost_per_lead_cents)}`}
            />
            <Tile
              label="Cost per purchase"
              value={optionalMoney(f.ads.cost_per_purchase_cents)}
              note={`${w.previous} ${optionalMoney(p.ads.cost_per_purchase_cents)}`}
            />
            <Tile label="ROAS" value={formatRoas(f.ads.roas)} note={`${w.previous} ${formatRoas(p.ads.roas)}`} />
          </TileRow>
          {spendNote ? <Text style={{ ...s.small, marginTop: '8px' }}>{spendNote}</Text> : null}
          {conversions ? <Text style={{ ...s.small, marginTop: '8px' }}>{conversions}</Text> : null}

          <Heading as="h2" style={s.h2}>
            Top ads
          </Heading>
          {f.ads.top.length === 0 ? (
            <Text style={s.small}>{`No meetings held or purchases from a known ad ${w.week}.`}</Text>
          ) : (
            <Table>
              <tr>
                <th style={s.th}>Ad</th>
                <th style={s.thNum}>Meetings held</th>
                <th style={s.thNum}>Purchases</th>
                <th style={s.thNum}>Spend</th>
              </tr>
              {f.ads.top.map((ad) => (
                <tr key={ad.ad_id}>
                  <td style={s.cell}>
                    {oneLine(ad.name ?? 'Unnamed ad')}
                    <br />
                    <span style={{ color: colors.muted, fontSize: '11px' }}>{oneLine(ad.ad_id, 40)}</span>
                  </td>
                  <td style={s.cellNum}>{formatCount(ad.meetings_held)}</td>
                  <td style={s.cellNum}>{formatCount(ad.purchases)}</td>
                  <td style={s.cellNum}>{money(ad.spend_cents)}</td>
                </tr>
              ))}
            </Table>
          )}

          <Hr style={{ borderColor: colors.line, margin: '28px 0 12px' }} />
          <Text style={s.small}>
            {`Period: Monday ${f.period.start_date} 00:00 to Sunday ${f.period.end_date} 24:00, ${f.period.timezone} (${f.period.hours} hours). `}
            {`${capitalize(w.previous)} (${formatWeekRange(p.period.start_date, p.period.end_date)}): ${money(p.revenue.cash_collected_cents)} collected, ${plural(f.previous.leads, 'new lead')}, ${plural(f.previous.purchases, 'purchase')}. `}
            A person counts once, however many tools they came through.
          </Text>
        </Container>
      </Body>
    </Html>
  );
}
