import { withTimeout } from '@mcb/core';
import { type Database, isNotMigrated } from '@mcb/db';
import { pingQueue, type QueueConnection } from './connection';

export interface Readiness {
  ok: boolean;
  /** `not_migrated`: Postgres answers, but the schema is not there (`mcb db migrate` has not run). */
  postgres: 'ok' | 'down' | 'not_migrated';
  queue: 'ok' | 'down';
}

/**
 * `/readyz` of every app: Postgres and the queue backend each answer within `timeoutMs`. `ok` needs
 * both unless `queueOptional`: the receiver takes webhooks with the queue down (the reconciler enqueues
 * what it commits meanwhile, SPEC §10), so a load balancer must keep sending it traffic then.
 */
export async function checkReadiness(
  { database, queue }: { database: Database; queue: QueueConnection },
  { timeoutMs = 1_000, queueOptional = false }: { timeoutMs?: number; queueOptional?: boolean } = {},
): Promise<Readiness> {
  const [pg, q] = await Promise.allSettled([
    // Not just `select 1`: a receiver on an unmigrated database answered every webhook 503 while ready
    // (prod walk, stop 32; a Deployment rolled out before its migration Job had run).
    withTimeout(
      database.sql<{ migrated: boolean }[]>`select to_regclass('webhook_logs') is not null as migrated`,
      timeoutMs,
      'postgres ping',
    ),
    withTimeout(pingQueue(queue), timeoutMs, 'queue ping'),
  ]);
  const postgres =
    pg.status === 'rejected' ? (isNotMigrated(pg.reason) ? 'not_migrated' : 'down') : pg.value[0]?.migrated ? 'ok' : 'not_migrated';
  const queueState = q.status === 'fulfilled' ? 'ok' : 'down';
  return { ok: postgres === 'ok' && (queueOptional || queueState === 'ok'), postgres, queue: queueState };
}
