import { decodeLogCursor, type WebhookLogSummary } from '@mcb/db';
import {
  describeEmptyLogSearch,
  describeLogContact,
  describeLogOutcome,
  describeLogStatus,
  formatLogTime,
  logMessageLabel,
  openLog,
  resolveLogFilter,
  searchLogs,
} from '@mcb/ops';
import type { Command } from 'commander';
import { loadCliEnv, withOperatorDatabases } from '../env';
import { addFormatOptions, type FormatFlags, outputFormats, resolveFormat } from '../format-option';
import { printable, printableJson } from '../output';
import { formatTable } from '../table';

const time = (d: Date | null) => (d ? formatLogTime(d) : '');
const clip = (s: string | null, n: number) => (!s ? '' : s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Table of log summaries (shared by `logs` and `replay --dry-run`); `formatTable` makes every cell printable. */
export function formatLogTable(items: WebhookLogSummary[], withTenant = false): string {
  const header = ['id', 'received', ...(withTenant ? ['tenant'] : []), 'source', 'event type', 'status', 'attempts', 'error'];
  const rows = items.map((l) => [
    String(l.id),
    time(l.receivedAt),
    ...(withTenant ? [l.tenantSlug] : []),
    l.source,
    clip(l.eventType, 40),
    describeLogStatus(l),
    String(l.attempts),
    clip(l.errorMessage?.replace(/\s+/g, ' ') ?? null, 60),
  ]);
  return formatTable(header, rows);
}

/** How far back `mcb logs` looks without `--since`. */
export const defaultLogsSince = '24h';

export interface LogSearchFlags {
  status?: string;
  source?: string;
  since?: string;
  until?: string;
  query?: string;
}

/** The line `mcb logs` prints when nothing matches: what was searched, and how to look further back. */
export const describeNoLogs = (flags: LogSearchFlags): string =>
  describeEmptyLogSearch(
    { status: flags.status, source: flags.source, since: flags.since, until: flags.until, q: flags.query },
    { defaultSince: defaultLogsSince, hint: '--since 7d or --since <date> to look further back' },
  );

export function registerLogsCommands(program: Command): void {
  const logsCommand = program
    .command('logs')
    .description("A tenant's webhook logs, newest first")
    .argument('<slug>', 'tenant slug')
    .option('--status <status>', 'received|processing|processed|ignored|failed|duplicate|rejected')
    .option('--source <source>', 'manychat|ghl|stripe|denefits|perspective')
    .option(
      '--since <when>',
      'duration back (30m, 24h, 7d) or a UTC date or time (2026-11-01, 2026-11-01T09:00, or with an offset)',
      defaultLogsSince,
    )
    .option('--until <when>', 'duration back or a UTC date or time')
    .option('-q, --query <text>', 'text in event type, ids or emails')
    .option('--limit <n>', 'rows per page (1-500)', '50')
    .option('--cursor <cursor>', 'continue after a previous page');
  addFormatOptions(logsCommand, outputFormats, 'text', 'text is a table, json {items, next_cursor} for scripts').action(
    async (slug: string, opts: LogSearchFlags & FormatFlags & { limit: string; cursor?: string }) => {
      const format = resolveFormat(opts, outputFormats, 'text');
      const env = loadCliEnv();
      await withOperatorDatabases(env, async (dbs) => {
        const filter = await resolveLogFilter(dbs.admin, {
          tenant: slug,
          status: opts.status,
          source: opts.source,
          since: opts.since,
          until: opts.until,
          q: opts.query,
        });
        const cursor = opts.cursor ? decodeLogCursor(opts.cursor) : null;
        if (opts.cursor && !cursor) throw new Error('Invalid --cursor');
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new Error('Invalid --limit: 1 to 500');
        const page = await searchLogs(dbs, filter, { cursor, limit });
        if (format === 'json') {
          // Stored values were written by whoever sent them: escaped like every other output.
          process.stdout.write(`${printableJson({ items: page.items, next_cursor: page.nextCursor ?? null })}\n`);
          return;
        }
        if (page.items.length === 0) {
          // The search text is the operator's own, but it is echoed to a terminal: shown escaped.
          process.stdout.write(`${printable(describeNoLogs(opts))}\n`);
          return;
        }
        process.stdout.write(formatLogTable(page.items));
        if (page.nextCursor) process.stdout.write(`More: add --cursor ${page.nextCursor}\n`);
      });
    },
  );

  const logCommand = program
    .command('log')
    .description('One webhook log: status, error, redacted headers, payload, and what it produced')
    .argument('<id>', 'log id');
  addFormatOptions(logCommand, outputFormats, 'text', 'text is for reading, json the whole record').action(
    async (idText: string, opts: FormatFlags) => {
      const format = resolveFormat(opts, outputFormats, 'text');
      const env = loadCliEnv();
      if (!/^\d{1,15}$/.test(idText)) throw new Error(`Invalid log id: ${idText}`);
      await withOperatorDatabases(env, async (dbs) => {
        const log = await openLog(dbs, Number(idText));
        if (!log) throw new Error(`No webhook log ${idText}`);
        // Most of a log was written by whoever sent it (a rejected row by anyone who knows the URL):
        // every stored value is printed through `printable`/`printableJson`, never raw (no escape
        // sequence reaches the terminal). Each field stays on its own line; only the body spans lines.
        if (format === 'json') {
          process.stdout.write(`${printableJson(log)}\n`);
          return;
        }
        const p = (value: unknown) => printable(String(value));
        const lines = [
          `log ${log.id}  ${p(describeLogStatus(log))}  (tenant ${p(log.tenantSlug)}, ${p(log.source)}, ${log.eventType === null ? 'no event type' : p(log.eventType)})`,
          `dedupe key  ${p(log.dedupeKey)}`,
          // Intake writes a row once (ADR 0010): `enqueued_at` is set only by a replay (and on older rows).
          `received    ${time(log.receivedAt)}${log.enqueuedAt ? `   enqueued ${time(log.enqueuedAt)}` : ''}   processed ${time(log.processedAt) || '-'}`,
          `attempts    ${log.attempts}`,
          ...(log.errorMessage ? [`${logMessageLabel(log.status).padEnd(12)}${p(log.errorMessage)}`] : []),
          `contact     ${p(describeLogContact(log) ?? '-')}`,
          ...describeLogOutcome(log).map((line, i) => `${i === 0 ? 'produced' : ''}`.padEnd(12) + p(line)),
          'headers (redacted):',
          printableJson(log.headers),
          ...(log.payload !== null
            ? ['payload:', printableJson(log.payload)]
            : [
                // A rejected delivery's body may well be JSON: it was kept as evidence, never parsed.
                log.status === 'rejected'
                  ? 'payload (raw body as received, never parsed: the delivery was rejected; control characters shown escaped):'
                  : 'payload (raw body, stored unparsed; control characters shown escaped):',
                printable(log.rawBody ?? '', { multiline: true }),
              ]),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    },
  );
}
