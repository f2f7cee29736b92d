import type { WebhookLogSummary } from '@mcb/db';
import {
  previewReplay,
  previewReplayIds,
  type ReplayDryRun,
  type ReplayIdsPreview,
  type ReplaySkipReason,
  type ReplaySummary,
  replayConfirmThreshold,
  replaySkipReasons,
  replayWebhookLogIds,
  replayWebhookLogs,
  resolveLogFilter,
} from '@mcb/ops';
import type { Command } from 'commander';
import { askYesNo, isInteractive } from '../confirm';
import { loadCliEnv, withOperatorDatabases } from '../env';
import { addFormatOptions, type FormatFlags, outputFormats, resolveFormat } from '../format-option';
import { printableJson } from '../output';
import { createProgressBar } from '../progress';
import { BoundedEnqueuer, type CliQueue, openCliQueue } from '../queue';
import { formatLogTable } from './logs';

type ReplayOptions = {
  tenant?: string;
  source?: string;
  status?: string;
  since?: string;
  until?: string;
  query?: string;
  id?: string[];
  dryRun?: boolean;
  yes?: boolean;
} & FormatFlags;

/** The `mcb logs …` command that lists a replay's rejected rows (or the console page, across tenants). */
function whereRejected(opts: ReplayOptions, firstId?: number): string {
  if (!opts.tenant) return firstId === undefined ? 'mcb logs <slug> --status rejected' : `mcb log ${firstId} (one by id)`;
  const parts = ['mcb logs', opts.tenant, '--status rejected'];
  if (opts.source) parts.push(`--source ${opts.source}`);
  if (opts.since) parts.push(`--since ${opts.since}`);
  if (opts.until) parts.push(`--until ${opts.until}`);
  return parts.join(' ');
}

/** The replay's result: counts, then every skipped log by id (or, past the list limit, counts and where to see them). */
export function describeSummary(s: ReplaySummary, opts: ReplayOptions = {}): string {
  const lines = [`Replayed ${s.replayed} of ${s.matched} log(s) in ${(s.ms / 1000).toFixed(1)} s.`];
  if (s.notEnqueued) lines.push(`${s.notEnqueued} reset but not enqueued (queue unavailable; the reconciler will add them).`);
  if (s.skippedCount > 0) {
    const reasons = Object.entries(s.skippedByReason).map(([reason, n]) => `${n} ${reason}`);
    lines.push(`Skipped ${s.skippedCount} (${reasons.join(', ')}):`);
    for (const [reason, text] of Object.entries(replaySkipReasons)) {
      const ids = s.skipped.filter((x) => x.reason === reason).map((x) => `#${x.id}`);
      const total = s.skippedByReason[reason as keyof typeof replaySkipReasons] ?? 0;
      if (total === 0) continue;
      const more = total > ids.length ? ` and ${total - ids.length} more` : '';
      lines.push(`  ${text}: ${ids.join(' ')}${more}`);
    }
    if (s.skippedCount > s.skipped.length || (s.skippedByReason.rejected ?? 0) > 0) {
      lines.push(`  See the rejected ones with: ${whereRejected(opts, s.skipped.find((x) => x.reason === 'rejected')?.id)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** When nothing given by `--id` can be replayed: the command fails (exit 1) after saying why for each id. */
const nothingReplayableById = 'Nothing to replay: no log given by --id can be replayed';

/** One line per id a replay by id leaves alone: a rejected log (evidence, SPEC §3), an id that matches no log. */
function describeUnreplayableIds(preview: { rejected: number[]; missing: number[] }): string {
  return [
    ...preview.rejected.map((id) => `Log ${id} is rejected: ${replaySkipReasons.rejected.replace(/^rejected: /, '')} (SPEC §3).\n`),
    ...preview.missing.map((id) => `No webhook log ${id}.\n`),
  ].join('');
}

/** Rows reset but not enqueued because Redis could not be reached: one line on stderr saying which Redis and why. */
function warnNotEnqueued(summary: ReplaySummary, queue: CliQueue): void {
  const line = queue.problemLine();
  if (summary.notEnqueued > 0 && line) process.stderr.write(`${line}\n`);
}

/**
 * Asks on a terminal, else requires --yes: a bulk replay acts at once on every matching log. With
 * `--format json` it never asks (the question would land in the JSON on stdout): as off a terminal.
 */
async function confirmBulk(count: number, opts: ReplayOptions, canAsk: boolean): Promise<boolean> {
  if (count <= replayConfirmThreshold || opts.yes) return true;
  if (!canAsk) {
    throw new Error(
      `Refusing to replay ${count} logs without confirmation: check them with --dry-run, then add --yes (more than ${replayConfirmThreshold} logs need it)`,
    );
  }
  return askYesNo(`Replay ${count} logs now?`);
}

/** The summary of a replay that found nothing to replay (only rejected logs, or none, match): nothing was reset. */
function nothingReplayable(preview: ReplayDryRun, started: number): ReplaySummary {
  return {
    matched: preview.matched,
    replayed: 0,
    skipped: preview.rejectedIds.map((id) => ({ id, reason: 'rejected' as const })),
    skippedCount: preview.rejected,
    skippedByReason: preview.rejected ? { rejected: preview.rejected } : {},
    notEnqueued: 0,
    replayNumber: started,
    ms: Date.now() - started,
  };
}

/** Every skip reason with its count (0 when none): the same keys in every answer. */
const countsByReason = (byReason: ReplaySummary['skippedByReason']) =>
  Object.fromEntries(Object.keys(replaySkipReasons).map((reason) => [reason, byReason[reason as ReplaySkipReason] ?? 0]));

/** A log of a dry run's sample: the columns of its table, snake_case, the raw status. */
const logSampleJson = (l: WebhookLogSummary) => ({
  id: l.id,
  received_at: l.receivedAt,
  tenant_slug: l.tenantSlug,
  source: l.source,
  event_type: l.eventType,
  status: l.status,
  attempts: l.attempts,
  error_message: l.errorMessage,
});

/**
 * `mcb replay --format json` after a replay (by filter or `--id`): counts, every skipped log by id (the
 * first `replaySkipListLimit`; `skipped_count` and `skipped_by_reason` count them all), the `--id`s that
 * match no log, and when it started. `not_enqueued`: reset but left to the reconciler (queue down).
 */
export function replaySummaryJson(s: ReplaySummary, missingIds: number[] = []) {
  return {
    dry_run: false,
    matched: s.matched,
    replayed: s.replayed,
    not_enqueued: s.notEnqueued,
    skipped_count: s.skippedCount,
    skipped_by_reason: countsByReason(s.skippedByReason),
    skipped: s.skipped.map((x) => ({ id: x.id, reason: x.reason })),
    missing_ids: missingIds,
    started_at: new Date(s.replayNumber),
    duration_ms: s.ms,
  };
}

/** `mcb replay --dry-run --format json` by filter: the counts, the first rejected ids, and the first logs that would be replayed. */
export function replayDryRunJson(p: ReplayDryRun) {
  return {
    dry_run: true,
    matched: p.matched,
    replayable: p.replayable,
    rejected: p.rejected,
    rejected_ids: p.rejectedIds,
    needs_confirmation: p.needsConfirmation,
    sample: p.sample.map(logSampleJson),
  };
}

/** `mcb replay --id … --dry-run --format json`: what a replay would do with each id given. */
export function replayIdsDryRunJson(p: ReplayIdsPreview, given: number) {
  return {
    dry_run: true,
    matched: p.replayable.length + p.rejected.length,
    replayable: p.replayable.length,
    rejected: p.rejected.length,
    rejected_ids: p.rejected,
    needs_confirmation: given > replayConfirmThreshold,
    replayable_ids: p.replayable,
    missing_ids: p.missing,
  };
}

export function registerReplayCommands(program: Command): void {
  const replay = program
    .command('replay')
    .description(
      `Re-process stored webhooks matching a filter (from the stored body). Rejected logs are never replayed. More than ${replayConfirmThreshold} logs ask for confirmation (--yes off a terminal or with --format json).`,
    )
    .option('--tenant <slug>', 'tenant slug')
    .option('--source <source>', 'manychat|ghl|stripe|denefits|perspective')
    .option('--status <status>', 'failed, processed, ignored, ... (rejected logs are shown, never replayed)')
    .option('--since <when>', 'duration back (30m, 24h, 7d) or a UTC date or time (2026-11-01, 2026-11-01T09:00, or with an offset)')
    .option('--until <when>', 'duration back or a UTC date or time')
    .option('-q, --query <text>', 'text in event type, ids or emails')
    .option('--id <ids...>', 'replay these log ids (ignores the filters)')
    .option('--dry-run', 'count and show the first matches; enqueue nothing')
    .option('-y, --yes', `replay more than ${replayConfirmThreshold} logs without asking`);
  addFormatOptions(replay, outputFormats, 'text', 'text is for reading, json the result (or the dry run) for scripts').action(
    async (opts: ReplayOptions) => {
      const format = resolveFormat(opts, outputFormats, 'text');
      const json = format === 'json';
      const print = (value: unknown) => process.stdout.write(`${printableJson(value)}\n`);
      const canAsk = !json && isInteractive();
      const env = loadCliEnv();
      await withOperatorDatabases(env, async (dbs) => {
        // Bounded: with Redis down the rows are reset, counted as not enqueued (the reconciler adds them)
        // and the replay ends within seconds, naming the Redis it could not reach.
        const queue = openCliQueue(env);
        const enqueuer = new BoundedEnqueuer(queue.conn, env.JOB_ATTEMPTS);
        const report = (summary: ReplaySummary, missingIds: number[] = []) => {
          if (json) print(replaySummaryJson(summary, missingIds));
          else process.stdout.write(describeSummary(summary, opts));
          warnNotEnqueued(summary, queue);
        };
        try {
          if (opts.id?.length) {
            const ids = opts.id.map((x) => {
              if (!/^\d{1,15}$/.test(x)) throw new Error(`Invalid log id: ${x}`);
              return Number(x);
            });
            const preview = await previewReplayIds(dbs, ids);
            if (opts.dryRun) {
              if (json) print(replayIdsDryRunJson(preview, ids.length));
              else
                process.stdout.write(
                  `${describeUnreplayableIds(preview)}${preview.replayable.length} log(s) would be replayed (dry run: nothing enqueued).\n`,
                );
              if (preview.replayable.length === 0) throw new Error(nothingReplayableById);
              return;
            }
            if (!json && preview.replayable.length === 0) {
              // Each id's reason, then the one failure line: no "Replayed 0 of 0" between them (operator walk, stop 37).
              process.stdout.write(describeUnreplayableIds(preview));
              throw new Error(nothingReplayableById);
            }
            if (!(await confirmBulk(ids.length, opts, canAsk))) return void process.stdout.write('Nothing replayed.\n');
            if (!json) process.stdout.write(describeUnreplayableIds({ rejected: [], missing: preview.missing }));
            const summary = await replayWebhookLogIds({ ...dbs, enqueuer }, ids);
            report(summary, preview.missing);
            if (summary.replayed === 0 && summary.notEnqueued === 0) throw new Error(nothingReplayableById);
            return;
          }
          const filter = await resolveLogFilter(dbs.admin, {
            tenant: opts.tenant,
            source: opts.source,
            status: opts.status,
            since: opts.since,
            until: opts.until,
            q: opts.query,
          });
          if (Object.keys(filter).length === 0) {
            throw new Error('Refusing to replay every log: give at least one filter (--tenant, --source, --status, --since, --until, -q)');
          }
          const started = Date.now();
          const preview = await previewReplay({ ...dbs, enqueuer }, filter);
          const rejectedNote = preview.rejected
            ? `${preview.rejected} rejected log(s) match: they were refused at intake (authentication or an invalid body) and are never replayed (see them with ${whereRejected(opts)}).\n`
            : '';
          if (opts.dryRun) {
            if (json) return void print(replayDryRunJson(preview));
            process.stdout.write(`${preview.replayable} log(s) would be replayed (dry run: nothing enqueued).\n${rejectedNote}`);
            if (preview.sample.length)
              process.stdout.write(`First ${preview.sample.length}, oldest first:\n${formatLogTable(preview.sample, true)}`);
            return;
          }
          if (preview.replayable === 0) {
            // Nothing replayed: for scripts, the summary a replay of only rejected logs gives.
            if (json) return void print(replaySummaryJson(nothingReplayable(preview, started)));
            process.stdout.write(`No log to replay (${preview.matched} matched).\n${rejectedNote}`);
            return;
          }
          if (!(await confirmBulk(preview.replayable, opts, canAsk))) return void process.stdout.write('Nothing replayed.\n');
          const bar = createProgressBar('replay');
          const summary = await replayWebhookLogs({ ...dbs, enqueuer }, filter, { onProgress: (p) => bar.update(p.done, p.total) });
          bar.finish();
          report(summary);
        } finally {
          await enqueuer.close();
          await queue.close();
        }
      });
    },
  );
}
