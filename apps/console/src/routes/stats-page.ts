import { httpStatusOf, McbError } from '@mcb/core';
import type { Database, TenantStats } from '@mcb/db';
import {
  defaultStatsSince,
  describeStatsPeriod,
  describeStatsTotals,
  describeTenantStats,
  listTenantRefs,
  loadTenantStats,
  parseStatsQuery,
  type StatsCell,
  type StatsColumn,
  type StatsReport,
  type StatsRowCells,
  statsColumns,
  statsLegend,
} from '@mcb/ops';
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { assertSingleValues, type ConsoleEnv } from '../http';
import { type Html, layout, options } from './layout';

/** Columns whose count is of logs with one status in the period: each links to those logs. */
const statusColumns: Partial<Record<StatsColumn, string>> = {
  processed: 'processed',
  failed: 'failed',
  ignored: 'ignored',
  rejected: 'rejected',
};

/** The table's column groups (headings of `statsColumns`, grouped for reading). */
const groups: Array<[label: string, columns: StatsColumn[]]> = [
  ['', ['tenant', 'active']],
  ['webhook logs in the period', ['received', 'processed', 'failed', 'ignored', 'rejected', 'pending']],
  ['all time', ['waiting', 'lastEvent']],
  ['funnel', ['newContacts', 'events']],
  ['money', ['cashCollected']],
  ['Meta Conversions API', ['capiSent', 'capiRefused']],
];
const headings = new Map<StatsColumn, string>(statsColumns);

/** `/admin/logs?…` for the logs a count stands for: a tenant (or all), a status, and the period (or all time). */
function logsHref(filter: { tenant?: string; status: string; period?: Pick<StatsReport, 'since' | 'until'> }): string {
  const query = new URLSearchParams();
  if (filter.tenant) query.set('tenant', filter.tenant);
  query.set('status', filter.status);
  if (filter.period) {
    query.set('since', filter.period.since.toISOString());
    query.set('until', filter.period.until.toISOString());
  }
  return `/admin/logs?${query.toString()}`;
}

/** A figure and its notes (`(1 will retry)`, `(includes £497.00 in disputed payments)`), the value a link when given. */
function figure(cell: StatsCell, href?: string): Html {
  const value = href && cell.value !== '0' ? html`<a href="${href}">${cell.value}</a>` : cell.value;
  return html`${value}${cell.notes.map((note) => html`<span class="note">${note}</span>`)}`;
}

/** One row: a tenant's (`tenant` set: its slug and name, its counts linking to its logs) or the ALL row. */
function row(cells: StatsRowCells, report: StatsReport, tenant?: TenantStats): Html {
  const link = (column: StatsColumn): string | undefined => {
    const status = statusColumns[column];
    if (status) return logsHref({ tenant: tenant?.slug, status, period: report });
    // The backlog is of all time: every log still waiting for a worker.
    if (column === 'waiting') return logsHref({ tenant: tenant?.slug, status: 'received' });
    return undefined;
  };
  return html`<tr ${tenant ? html`data-tenant="${tenant.slug}"` : html`class="total"`}>
    ${statsColumns.map(([column]) =>
      column === 'tenant' && tenant
        ? html`<td data-col="tenant">${tenant.slug}<span class="note">${tenant.name}</span></td>`
        : html`<td data-col="${column}">${figure(cells[column], link(column))}</td>`,
    )}
  </tr>`;
}

function statsTable(report: StatsReport): Html {
  if (report.tenants.length === 0) return html`<p>No tenants.</p>`;
  return html`<table id="stats">
      <thead>
        <tr>${groups.map(([label, columns]) => html`<th class="group" colspan="${columns.length}">${label}</th>`)}</tr>
        <tr>${statsColumns.map(([column]) => html`<th>${headings.get(column)}</th>`)}</tr>
      </thead>
      <tbody>
        ${report.tenants.map((s) => row(describeTenantStats(s), report, s))}
        ${report.tenants.length > 1 ? row(describeStatsTotals(report.tenants), report) : ''}
      </tbody>
    </table>
    <p class="note">${statsLegend}</p>`;
}

/**
 * Per-tenant stats under `/admin/stats` (behind auth): the figures of `GET /admin/api/stats` and `mcb
 * stats`, from the same `loadTenantStats` and written as `mcb stats` writes them (`describeTenantStats`).
 * Query `?tenant=&since=&until=` as the API's (an empty field is no filter); a bad one answers its
 * error's status (400, 404 for an unknown tenant) with the message and no figures.
 */
export function createStatsPage(deps: { admin: Database }) {
  const page = new Hono<ConsoleEnv>();

  page.get('/', async (c) => {
    const given = Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v !== ''));
    const tenants = await listTenantRefs(deps.admin);
    let report: StatsReport | null = null;
    let error: McbError | null = null;
    try {
      assertSingleValues(c.req.queries());
      report = await loadTenantStats(deps.admin, parseStatsQuery(given));
    } catch (err) {
      if (!(err instanceof McbError)) throw err;
      error = err;
    }
    const json = `/admin/api/stats${Object.keys(given).length ? `?${new URLSearchParams(given).toString()}` : ''}`;
    // `tenant` may be an id or a slug in any case (as `mcb stats --tenant`): the form selects the tenant it
    // named, else pressing Show (a new period, say) would drop the filter.
    const selected = given.tenant && report?.tenants.length === 1 ? report.tenants[0]?.slug : given.tenant;
    return c.html(
      layout(
        'Stats',
        html`<h1>Tenant stats</h1>
          ${error ? html`<div class="error">${error.message}</div>` : ''}
          <form class="search" method="get" action="/admin/stats">
            <label>Tenant<select name="tenant">${options(
              tenants.map((t) => t.slug),
              selected,
              'all tenants',
            )}</select></label>
            <label>Since<input name="since" value="${given.since ?? ''}" placeholder="${defaultStatsSince} (24h, 2026-11-01)" size="16" /></label>
            <label>Until<input name="until" value="${given.until ?? ''}" placeholder="now (or a date)" size="14" /></label>
            <button type="submit">Show</button>
          </form>
          ${
            report
              ? html`<p id="period">${describeStatsPeriod(report)} · <a href="${json}">the same as JSON</a></p>
                  ${statsTable(report)}`
              : ''
          }`,
      ),
      error ? (httpStatusOf(error.code) as ContentfulStatusCode) : 200,
    );
  });

  return page;
}
