import type { Database } from '@mcb/db';
import { pingQueue, type QueueConnection } from '@mcb/queue';

/** Postgres and the queue backend both answer within a second. */
export async function checkReadiness({ database, queue }: { database: Database; queue: QueueConnection }) {
  const timeout = <T>(p: Promise<T>) =>
    Promise.race([p, new Promise<never>((_, r) => setTimeout(() => r(new Error('timeout')), 1_000).unref())]);
  const [pg, q] = await Promise.allSettled([timeout(database.sql`select 1`), timeout(pingQueue(queue))]);
  const postgres = pg.status === 'fulfilled' ? 'ok' : 'down';
  const redis = q.status === 'fulfilled' ? 'ok' : 'down';
  return { ok: postgres === 'ok' && redis === 'ok', postgres, queue: redis };
}
