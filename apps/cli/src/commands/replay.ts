import { queueBackendFromEnv } from '@mcb/core';
import { previewReplay, type ReplaySummary, replayWebhookLogIds, replayWebhookLogs, resolveLogFilter } from '@mcb/ops';
import { createQueueConnection, WebhookEnqueuer } from '@mcb/queue';
import type { Command } from 'commander';
import { loadCliEnv, withAdminDatabase } from '../env';
import { createProgressBar } from '../progress';
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
};

function describeSummary(s: ReplaySummary): string {
  const parts = [`Replayed ${s.replayed} of ${s.matched} log(s) in ${(s.ms / 1000).toFixed(1)} s`];
  if (s.skipped.length)
    parts.push(
      `${s.skipped.length} skipped (${s.skipped
        .slice(0, 5)
        .map((x) => `#${x.id}: ${x.reason}`)
        .join('; ')})`,
    );
  if (s.notEnqueued) parts.push(`${s.notEnqueued} reset but not enqueued (queue unavailable; the outbox sweeper will add them)`);
  return `${parts.join(', ')}.\n`;
}

export function registerReplayCommands(program: Command): void {
  program
    .command('replay')
    .description('Re-process stored webhooks matching a filter (from the stored body; no signature check). Dry run first.')
    .option('--tenant <slug>', 'tenant slug')
    .option('--source <source>', 'manychat|ghl|stripe|denefits|perspective')
    .option('--status <status>', 'failed, rejected, processed, ...')
    .option('--since <when>', 'duration back (30m, 24h, 7d) or a date')
    .option('--until <when>', 'duration back or a date')
    .option('-q, --query <text>', 'text in event type, ids or emails')
    .option('--id <ids...>', 'replay these log ids (ignores the filters)')
    .option('--dry-run', 'count and show the first matches; enqueue nothing')
    .action(async (opts: ReplayOptions) => {
      const env = loadCliEnv();
      await withAdminDatabase(env, async (admin) => {
        const queue = createQueueConnection(queueBackendFromEnv(env), env.QUEUE_PREFIX);
        const enqueuer = new WebhookEnqueuer(queue, env.JOB_ATTEMPTS);
        try {
          if (opts.id?.length) {
            const ids = opts.id.map((x) => {
              if (!/^\d{1,15}$/.test(x)) throw new Error(`Invalid log id: ${x}`);
              return Number(x);
            });
            if (opts.dryRun) {
              process.stdout.write(`${ids.length} log id(s) given; dry run: nothing enqueued.\n`);
              return;
            }
            const summary = await replayWebhookLogIds({ admin, enqueuer }, ids);
            process.stdout.write(describeSummary(summary));
            return;
          }
          const filter = await resolveLogFilter(admin, {
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
          if (opts.dryRun) {
            const preview = await previewReplay({ admin, enqueuer }, filter);
            process.stdout.write(`${preview.matched} log(s) would be replayed (dry run: nothing enqueued).\n`);
            if (preview.sample.length)
              process.stdout.write(`First ${preview.sample.length}, oldest first:\n${formatLogTable(preview.sample, true)}`);
            return;
          }
          const bar = createProgressBar('replay');
          const summary = await replayWebhookLogs({ admin, enqueuer }, filter, { onProgress: (p) => bar.update(p.done, p.total) });
          bar.finish();
          process.stdout.write(describeSummary(summary));
        } finally {
          await enqueuer.close();
          await queue.close();
        }
      });
    });
}
