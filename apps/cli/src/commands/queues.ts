import { getQueueCounts, listQueueRefs, queueStates } from '@mcb/ops';
import type { Command } from 'commander';
import { loadCliEnv, withAdminDatabase } from '../env';
import { addFormatOptions, type FormatFlags, outputFormats, resolveFormat } from '../format-option';
import { printableJson } from '../output';
import { openCliQueue, redisStep } from '../queue';
import { formatTable } from '../table';

export function registerQueuesCommands(program: Command): void {
  const queues = program.command('queues').description('Job counts per queue and state (fixed queues and one webhook queue per tenant)');
  addFormatOptions(queues, outputFormats, 'text', 'text is a table, json the counts').action(async (opts: FormatFlags) => {
    const format = resolveFormat(opts, outputFormats, 'text');
    const env = loadCliEnv();
    await withAdminDatabase(env, async (admin) => {
      const refs = await listQueueRefs(admin);
      // Redis down: one line naming REDIS_URL and exit 1 within seconds (the connection is bounded).
      const queue = openCliQueue(env);
      try {
        const counts = await redisStep(queue, 'queue counts', () => getQueueCounts(queue.conn, refs));
        if (format === 'json') {
          process.stdout.write(`${printableJson(counts)}\n`);
          return;
        }
        const rows = counts.map((q) => [q.label, ...queueStates.map((s) => String(q.counts[s]))]);
        process.stdout.write(formatTable(['queue', ...queueStates], rows));
      } finally {
        await queue.close();
      }
    });
  });
}
