import { withTimeout } from '@mcb/core';
import type { Database } from '@mcb/db';
import { pingQueue, type QueueConnection } from './connection';

export interface Readiness {
  ok: boolean;
  postgres: 'ok' | 'down';
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
    withTimeout(database.sql`select 1`, timeoutMs, 'postgres ping'),
    withTimeout(pingQueue(queue), timeoutMs, 'queue ping'),
  ]);
  const postgres = pg.status === 'fulfilled' ? 'ok' : 'down';
  const queueState = q.status === 'fulfilled' ? 'ok' : 'down';
  return { ok: postgres === 'ok' && (queueOptional || queueState === 'ok'), postgres, queue: queueState };
}
