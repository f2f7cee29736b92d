import type { Database } from '@mcb/db';
import { type QueueConnection, queueNames, webhookQueueName } from '@mcb/queue';
import { Queue } from 'bullmq';
import { listTenantRefs } from './tenants';

/** A queue of the system: the fixed ones, then one webhook queue per tenant. */
export interface QueueRef {
  name: string;
  /** Human label (`webhooks · ppcu`). */
  label: string;
  tenantSlug: string | null;
  /** The tenant's display name (null for the fixed queues). */
  tenantName: string | null;
}

/** What separates a tenant group from its queue in Bull Board's names (its `delimiter` option). */
export const boardGroupDelimiter = ':';

/**
 * The name Bull Board lists a queue under (its sidebar, search and URL use it; the BullMQ queue keeps
 * its real name): `ppcu · Postpartum Care USA:webhooks` for a tenant's queue, grouped per tenant by
 * `boardGroupDelimiter`; a fixed queue keeps its own name. Pure.
 */
export function boardQueueName(ref: Pick<QueueRef, 'name' | 'tenantSlug' | 'tenantName'>): string {
  if (!ref.tenantSlug) return ref.name;
  const group = `${ref.tenantSlug} · ${(ref.tenantName ?? '').trim()}`.replace(/ · $/, '');
  // The delimiter and whitespace runs inside a tenant name would split or blur the group.
  return `${group.replaceAll(boardGroupDelimiter, ' ').replace(/\s+/g, ' ')}${boardGroupDelimiter}webhooks`;
}

/** Every queue the system uses right now: `queueNames` plus `webhooks-<tenantId>` per tenant (admin path). */
export async function listQueueRefs(admin: Database): Promise<QueueRef[]> {
  const fixed = Object.values(queueNames).map((name) => ({ name, label: name, tenantSlug: null, tenantName: null }));
  const tenants = await listTenantRefs(admin);
  return [
    ...fixed,
    ...tenants.map((t) => ({ name: webhookQueueName(t.id), label: `webhooks · ${t.slug}`, tenantSlug: t.slug, tenantName: t.name })),
  ];
}

export const queueStates = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;
export type QueueState = (typeof queueStates)[number];
export type QueueCounts = QueueRef & {
  counts: Record<QueueState, number>;
  /** When the oldest waiting job was added (epoch ms), or null when none waits. */
  oldestWaitingAt: number | null;
  /**
   * Workers connected to the queue (BullMQ's named worker connections, from Redis' CLIENT LIST), when
   * asked for (`{ workers: true }`); null when not asked or the backend cannot tell (no CLIENT LIST).
   */
  workers: number | null;
};

/**
 * Job counts per queue and state, and the oldest waiting job's age, read straight from BullMQ (Redis or
 * its Postgres backend). `workers: true` also counts the workers connected to each queue — what tells an
 * operator that jobs wait because nothing runs (one CLIENT LIST per queue: for people, not for metrics).
 */
export async function getQueueCounts(conn: QueueConnection, refs: QueueRef[], options: { workers?: boolean } = {}): Promise<QueueCounts[]> {
  return Promise.all(
    refs.map(async (ref) => {
      const queue = new Queue(ref.name, { connection: conn.connection, prefix: conn.prefix });
      queue.on('error', conn.onError(`queue ${ref.name}`));
      try {
        const raw = await queue.getJobCounts(...queueStates);
        const counts = Object.fromEntries(queueStates.map((s) => [s, raw[s] ?? 0])) as Record<QueueState, number>;
        const [oldest] = counts.waiting ? await queue.getJobs(['wait'], 0, 0, true) : [];
        const workers = options.workers ? await connectedWorkers(queue) : null;
        return { ...ref, counts, oldestWaitingAt: oldest?.timestamp ?? null, workers };
      } finally {
        await queue.close();
      }
    }),
  );
}

/** Workers connected to `queue`, or null when the backend cannot list its clients. */
async function connectedWorkers(queue: Queue): Promise<number | null> {
  try {
    const workers = await queue.getWorkers();
    // BullMQ answers a server without CLIENT LIST (some managed Redis) with one placeholder entry.
    if (workers.some((w) => typeof w.name === 'string' && w.name.includes('does not support'))) return null;
    return workers.length;
  } catch {
    return null;
  }
}
