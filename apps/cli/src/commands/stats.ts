import {
  defaultStatsSince,
  describeStatsPeriod,
  describeStatsTotals,
  describeTenantStats,
  loadTenantStats,
  resolveStatsPeriod,
  type StatsRowCells,
  statsCellText,
  statsColumns,
  statsLegend,
} from '@mcb/ops';
import type { Command } from 'commander';
import { loadCliEnv, withAdminDatabase } from '../env';
import { addFormatOptions, type FormatFlags, outputFormats, resolveFormat } from '../format-option';
import { printableJson } from '../output';
import { formatTable } from '../table';

/** A row of the table: each cell as @mcb/ops describes it (the console's stats page shows the same). */
const rowText = (cells: StatsRowCells) => statsColumns.map(([key]) => statsCellText(cells[key]));

export function registerStatsCommands(program: Command): void {
  const stats = program
    .command('stats')
    .description(
      'Cross-tenant admin analytics: webhook logs by status, backlog waiting for a worker, contacts, funnel events, cash collected, conversions sent to Meta',
    )
    .option('--tenant <slug>', 'one tenant only')
    .option(
      '--since <when>',
      `period start: duration back (24h, 7d) or a UTC date or time (default ${defaultStatsSince} before the period's end)`,
    )
    .option('--until <when>', 'period end: duration back or a UTC date or time (default now)');
  addFormatOptions(stats, outputFormats, 'text', 'text is a table, json every figure').action(
    async (opts: { tenant?: string; since?: string; until?: string } & FormatFlags) => {
      const format = resolveFormat(opts, outputFormats, 'text');
      const env = loadCliEnv();
      const query = { tenant: opts.tenant, since: opts.since, until: opts.until };
      const period = resolveStatsPeriod(query);
      await withAdminDatabase(env, async (admin) => {
        const report = await loadTenantStats(admin, query, period);
        if (format === 'json') {
          process.stdout.write(`${printableJson(report)}\n`);
          return;
        }
        process.stdout.write(`${describeStatsPeriod(report)}\n`);
        // Only with no tenant at all (a tenant asked for by --tenant is always listed, with its zeros).
        if (report.tenants.length === 0) return void process.stdout.write('No tenants. Add one with: mcb tenant add <slug> --name …\n');
        const header = statsColumns.map(([, heading]) => heading);
        const rows = report.tenants.map((s) => rowText(describeTenantStats(s)));
        if (report.tenants.length > 1) rows.push(rowText(describeStatsTotals(report.tenants)));
        process.stdout.write(formatTable(header, rows));
        // What the columns count, as under the console's table (new-operator walk, stop 34: none was printed).
        process.stdout.write(`\n${statsLegend}\n`);
      });
    },
  );
}
