import type { QueueConnection } from '@mcb/queue';

/**
 * True when the queue backend can take jobs right now. For Redis this is the client's own state:
 * while it is reconnecting, an add would sit in ioredis' offline queue instead of failing, so the
 * receiver leaves those jobs to the outbox at once rather than waiting on a dead Redis.
 */
export function isQueueReady(queue: QueueConnection): boolean {
  if (queue.backend.kind !== 'redis') return true;
  return (queue.connection as { status?: string }).status === 'ready';
}
