import { getQueueCounts, listQueueRefs, queueStates } from '@mcb/ops';
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
        // An operator's review (stop 38): jobs waited after every worker was killed, and nothing said so.
        const unserved = counts.filter((q) => q.workers === 0 && q.counts.waiting + q.counts.active + q.counts.prioritized > 0);
        if (unserved.length > 0)
          process.stderr.write(
            `warning: no worker is connected to ${unserved.length === 1 ? 'queue' : `${unserved.length} queues`} with jobs (${unserved
              .slice(0, 3)
              .map((q) => q.label)
              .join(
                ', ',
              )}${unserved.length > 3 ? ', …' : ''}): nothing processes them until a worker runs (npm start, or the worker deployment)\n`,
          );
        if (format === 'json') {
          process.stdout.write(`${printableJson(counts)}\n`);
          return;
        }
        const now = Date.now();
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
