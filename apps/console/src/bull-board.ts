import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import { listQueueRefs } from '@mcb/ops';
import type { QueueConnection } from '@mcb/queue';
import { Queue } from 'bullmq';

export interface QueueBoard {
  /** Bull Board's Hono app (UI, static assets, its API), to mount at `basePath` behind auth. */
  app: ReturnType<HonoAdapter['registerPlugin']>;
  /** Re-reads tenants and adds/removes their webhook queues. Runs on a timer and before first use. */
  refresh: () => Promise<void>;
  /** Resolves once the first discovery has run. */
  ready: () => Promise<void>;
  close: () => Promise<void>;
}

/**
 * Bull Board over every queue of the system: the fixed ones and one `webhooks-<tenantId>` queue per
 * tenant, discovered from the database and refreshed every `refreshMs` (new tenants appear without
 * a restart). Jobs carry only `{ logId }`, so the board shows ids, never payloads.
 */
export function createQueueBoard(deps: {
  admin: Database;
  queue: QueueConnection;
  log: Logger;
  basePath: string;
  refreshMs?: number;
}): QueueBoard {
  const serverAdapter = new HonoAdapter(serveStatic);
  serverAdapter.setBasePath(deps.basePath);
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'MCB queues',
        hideDocsLink: true,
        miscLinks: [
          { text: 'Log browser', url: '/admin/logs' },
          { text: 'Sign out', url: '/logout' },
        ],
      },
    },
  });
  const queues = new Map<string, Queue>();

  const refresh = async () => {
    const refs = await listQueueRefs(deps.admin);
    const wanted = new Set(refs.map((r) => r.name));
    for (const ref of refs) {
      if (queues.has(ref.name)) continue;
      const q = new Queue(ref.name, { connection: deps.queue.connection, prefix: deps.queue.prefix });
      q.on('error', deps.queue.onError(`bull-board ${ref.name}`));
      queues.set(ref.name, q);
      board.addQueue(new BullMQAdapter(q, { displayName: ref.label, description: ref.tenantSlug ? `tenant ${ref.tenantSlug}` : '' }));
    }
    for (const [name, q] of queues) {
      if (wanted.has(name)) continue;
      board.removeQueue(name);
      queues.delete(name);
      await q.close();
    }
  };

  let first: Promise<void> | null = null;
  const ready = () => {
    first ??= refresh().catch((err) => {
      first = null;
      throw err;
    });
    return first;
  };
  const timer = setInterval(() => {
    refresh().catch((err) => deps.log.warn({ err: (err as Error).message }, 'queue discovery failed'));
  }, deps.refreshMs ?? 30_000);
  timer.unref();

  return {
    app: serverAdapter.registerPlugin(),
    refresh,
    ready,
    close: async () => {
      clearInterval(timer);
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}
