import type { Database } from '@mcb/db';
import { pingQueue, type QueueConnection } from './connection';

export interface Readiness {
  ok: boolean;
  postgres: 'ok' | 'down';
  queue: 'ok' | 'down';
}

/** `/readyz` of every app: Postgres and the queue backend each answer within `timeoutMs`. */
export async function checkReadiness(
  { database, queue }: { database: Database; queue: QueueConnection },
  timeoutMs = 1_000,
): Promise<Readiness> {
  const timeout = <T>(p: Promise<T>) =>
    Promise.race([p, new Promise<never>((_, r) => setTimeout(() => r(new Error('timeout')), timeoutMs).unref())]);
  const [pg, q] = await Promise.allSettled([timeout(database.sql`select 1`), timeout(pingQueue(queue))]);
  const postgres = pg.status === 'fulfilled' ? 'ok' : 'down';
  const queueState = q.status === 'fulfilled' ? 'ok' : 'down';
  return { ok: postgres === 'ok' && queueState === 'ok', postgres, queue: queueState };
}
