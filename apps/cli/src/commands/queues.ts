import { queueBackendFromEnv } from '@mcb/core';
import { getQueueCounts, listQueueRefs, queueStates } from '@mcb/ops';
import { createQueueConnection } from '@mcb/queue';
import type { Command } from 'commander';
import { loadCliEnv, withAdminDatabase } from '../env';
import { formatTable } from '../table';

export function registerQueuesCommands(program: Command): void {
  program
    .command('queues')
    .description('Job counts per queue and state (fixed queues and one webhook queue per tenant)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const env = loadCliEnv();
      await withAdminDatabase(env, async (admin) => {
        const queue = createQueueConnection(queueBackendFromEnv(env), env.QUEUE_PREFIX);
        try {
          const counts = await getQueueCounts(queue, await listQueueRefs(admin));
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(counts, null, 2)}\n`);
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
