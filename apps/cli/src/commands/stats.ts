import { getTenantStats, type TenantStats } from '@mcb/db';
import { formatCents } from '@mcb/emails';
import { assertTimeWindow, defaultStatsSince, parseTimeArg, resolveTenantId } from '@mcb/ops';
import type { Command } from 'commander';
import { loadCliEnv, withAdminDatabase } from '../env';
import { addFormatOptions, type FormatFlags, outputFormats, resolveFormat } from '../format-option';
import { printableJson } from '../output';
import { formatTable } from '../table';

/** `(includes £497.00 in disputed payments)` for the disputed part of a cash figure, by currency; empty when none is. */
function disputedHint(disputed: Map<string, number>): string {
  const parts = [...disputed]
    .filter(([, minor]) => minor !== 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, minor]) => formatCents(minor, code));
  return parts.length ? ` (includes ${parts.join(' + ')} in disputed payments)` : '';
}

/**
 * `£25.00`, or `£25.00 (+ $12.00 + ¥5,000)` with payments in other currencies than the tenant's (never
 * summed into it); then, when any of it is under an open or lost dispute, `(includes £497.00 in disputed
 * payments)` — the figure stays SPEC §7's cash collected.
 */
function cashCollected(s: TenantStats): string {
  const others = Object.entries(s.revenueOtherCurrencies)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, minor]) => formatCents(minor, code));
  const disputed = new Map([[s.currency, s.disputedCents], ...Object.entries(s.disputedOtherCurrencies)]);
  return `${formatCents(s.revenueCents, s.currency)}${others.length ? ` (+ ${others.join(' + ')})` : ''}${disputedHint(disputed)}`;
}

/** Failed logs, and how many of them will retry: `3 (1 will retry)`; the rest gave up. */
const failedCount = (failed: number, willRetry: number) => (willRetry ? `${failed} (${willRetry} will retry)` : String(failed));

/** Cash of every tenant, summed per currency (those with any): `$2,500.00 + £25.00`; `0` when none in several currencies. */
function cashCollectedTotal(stats: TenantStats[]): string {
  const sums = new Map<string, number>();
  const add = (code: string, minor: number) => sums.set(code, (sums.get(code) ?? 0) + minor);
  for (const s of stats) {
    add(s.currency, s.revenueCents);
    for (const [code, minor] of Object.entries(s.revenueOtherCurrencies)) add(code, minor);
  }
  const all = [...sums].sort(([a], [b]) => a.localeCompare(b));
  const shown = all.filter(([, minor]) => minor !== 0);
  // Nothing collected: in the one currency every tenant reports in, else a bare 0 (no currency to pick).
  if (shown.length === 0) return all.length === 1 ? formatCents(0, (all[0] as [string, number])[0]) : '0';
  const disputed = new Map<string, number>();
  for (const s of stats) {
    for (const [code, minor] of [[s.currency, s.disputedCents] as const, ...Object.entries(s.disputedOtherCurrencies)])
      disputed.set(code, (disputed.get(code) ?? 0) + minor);
  }
  return `${shown.map(([code, minor]) => formatCents(minor, code)).join(' + ')}${disputedHint(disputed)}`;
}

const time = (d: Date | null) =>
  d
    ? d
        .toISOString()
        .replace('T', ' ')
        .replace(/:\d\d\.\d+Z$/, 'Z')
    : '-';

export function registerStatsCommands(program: Command): void {
  const stats = program
    .command('stats')
    .description(
      'Cross-tenant admin analytics: webhook logs by status, backlog waiting for a worker, contacts, funnel events, cash collected, conversions sent to Meta',
    )
    .option('--tenant <slug>', 'one tenant only')
    .option('--since <when>', 'period start: duration back (24h, 7d) or a date', defaultStatsSince)
    .option('--until <when>', 'period end (default now)');
  addFormatOptions(stats, outputFormats, 'text', 'text is a table, json every figure').action(
    async (opts: { tenant?: string; since: string; until?: string } & FormatFlags) => {
      const format = resolveFormat(opts, outputFormats, 'text');
      const env = loadCliEnv();
      const now = new Date();
      const since = parseTimeArg(opts.since, now);
      const until = opts.until ? parseTimeArg(opts.until, now) : now;
      if (opts.until) assertTimeWindow(since, until, opts.since, opts.until);
      await withAdminDatabase(env, async (admin) => {
        const tenantId = opts.tenant ? await resolveTenantId(admin, opts.tenant) : undefined;
        const stats = await getTenantStats(admin.sql, { since, until, tenantId });
        if (format === 'json') {
          process.stdout.write(`${printableJson({ since, until, tenants: stats })}\n`);
          return;
        }
        process.stdout.write(`Period ${since.toISOString()} – ${until.toISOString()}\n`);
        const header = [
          'tenant',
          'active',
          'received',
          'processed',
          'failed',
          'ignored',
          'rejected',
          'pending',
          'waiting',
          'last event',
          'new contacts',
          'events',
          'cash collected',
          'capi sent',
          'capi refused',
        ];
        const rows = stats.map((s) => [
          s.slug,
          s.isActive ? 'yes' : 'no',
          String(s.logs.received),
          String(s.logs.processed),
          failedCount(s.logs.failed, s.failedWillRetry),
          String(s.logs.ignored),
          String(s.logs.rejected),
          String(s.logs.pending),
          String(s.waiting),
          time(s.lastEventAt),
          `${s.contacts.new} (${s.contacts.total} total)`,
          String(s.funnelEvents.count),
          cashCollected(s),
          `${s.capi.sent}${s.capi.pending ? ` (+${s.capi.pending} pending)` : ''}`,
          String(s.capi.failed),
        ]);
        const total = (f: (s: (typeof stats)[number]) => number) => String(stats.reduce((n, s) => n + f(s), 0));
        if (stats.length > 1) {
          rows.push([
            'ALL',
            '',
            total((s) => s.logs.received),
            total((s) => s.logs.processed),
            failedCount(
              stats.reduce((n, s) => n + s.logs.failed, 0),
              stats.reduce((n, s) => n + s.failedWillRetry, 0),
            ),
            total((s) => s.logs.ignored),
            total((s) => s.logs.rejected),
            total((s) => s.logs.pending),
            total((s) => s.waiting),
            '',
            total((s) => s.contacts.new),
            total((s) => s.funnelEvents.count),
            cashCollectedTotal(stats),
            total((s) => s.capi.sent),
            total((s) => s.capi.failed),
          ]);
        }
        process.stdout.write(formatTable(header, rows));
      });
    },
  );
}
