import { getQueueCounts, listQueueRefs, type QueueCounts, queueStates } from '@mcb/ops';
import type { Command } from 'commander';
import { loadCliEnv, withAdminDatabase } from '../env';
import { addFormatOptions, type FormatFlags, outputFormats, resolveFormat } from '../format-option';
import { printableJson } from '../output';
import { openCliQueue, redisStep } from '../queue';
import { formatTable } from '../table';

/** How long ago `at` (epoch ms) was, as `45s`, `12m`, `3h 5m` or `2d 4h`; `-` for none. */
export function ageOf(at: number | null, now: number): string {
  if (at === null) return '-';
  const s = Math.max(0, Math.floor((now - at) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A job waiting longer than this with a worker connected means the worker is stuck or far behind. */
export const stuckWaitMs = 60_000;

/**
 * What `mcb queues` warns of: jobs with no worker connected (an operator's review, stop 38: every worker
 * killed, nothing said so), and jobs waiting over `stuckWaitMs` although a worker is connected (a faults
 * walk: a frozen worker still holds its connection, and 871 jobs waited 41 s under "workers 1"). Pure.
 */
export function queueWarnings(counts: Array<Pick<QueueCounts, 'label' | 'counts' | 'workers' | 'oldestWaitingAt'>>, now: number): string[] {
  const labels = (qs: typeof counts) =>
    `${qs
      .slice(0, 3)
      .map((q) => q.label)
      .join(', ')}${qs.length > 3 ? ', …' : ''}`;
  const warnings: string[] = [];
  const unserved = counts.filter((q) => q.workers === 0 && q.counts.waiting + q.counts.active + q.counts.prioritized > 0);
  if (unserved.length > 0)
    warnings.push(
      `no worker is connected to ${unserved.length === 1 ? 'queue' : `${unserved.length} queues`} with jobs (${labels(unserved)}): nothing processes them until a worker runs (npm start, or the worker deployment)`,
    );
  const stuck = counts.filter(
    (q) => q.workers !== null && q.workers > 0 && q.oldestWaitingAt !== null && now - q.oldestWaitingAt > stuckWaitMs,
  );
  if (stuck.length > 0)
    warnings.push(
      `jobs have waited over ${stuckWaitMs / 60_000} min in ${labels(stuck)} although a worker is connected: it is stuck or far behind (check its /readyz and its log)`,
    );
  return warnings;
}

export function registerQueuesCommands(program: Command): void {
  const queues = program
    .command('queues')
    .description(
      'Job counts per queue and state, the oldest waiting job and the workers connected (fixed queues and one webhook queue per tenant)',
    );
  addFormatOptions(queues, outputFormats, 'text', 'text is a table, json the counts').action(async (opts: FormatFlags) => {
    const format = resolveFormat(opts, outputFormats, 'text');
    const env = loadCliEnv();
    await withAdminDatabase(env, async (admin) => {
      const refs = await listQueueRefs(admin);
      // Redis down: one line naming REDIS_URL and exit 1 within seconds (the connection is bounded).
      const queue = openCliQueue(env);
      try {
        const counts = await redisStep(queue, 'queue counts', () => getQueueCounts(queue.conn, refs, { workers: true }));
        const now = Date.now();
        for (const warning of queueWarnings(counts, now)) process.stderr.write(`warning: ${warning}\n`);
        if (format === 'json') {
          process.stdout.write(`${printableJson(counts)}\n`);
          return;
        }
        const rows = counts.map((q) => [
          q.label,
          ...queueStates.map((s) => String(q.counts[s])),
          ageOf(q.oldestWaitingAt, now),
          q.workers === null ? '?' : String(q.workers),
        ]);
        process.stdout.write(formatTable(['queue', ...queueStates, 'oldest waiting', 'workers'], rows));
      } finally {
        await queue.close();
      }
    });
  });
}
