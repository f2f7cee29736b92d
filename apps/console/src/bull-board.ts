import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import { boardGroupDelimiter, boardQueueName, listQueueRefs, type QueueRef, stripLocalPaths } from '@mcb/ops';
import type { QueueConnection } from '@mcb/queue';
import { Queue } from 'bullmq';

type BoardJob = NonNullable<Awaited<ReturnType<BullMQAdapter['getJob']>>>;

/** A job whose JSON (what Bull Board's job page shows) has no local file paths in its stack trace or reason. */
function withoutLocalPaths(job: BoardJob): BoardJob {
  const toJSON = job.toJSON.bind(job);
  job.toJSON = () => {
    const json = toJSON();
    return {
      ...json,
      stacktrace: (json.stacktrace ?? []).map((line) => (typeof line === 'string' ? stripLocalPaths(line) : line)),
      failedReason: typeof json.failedReason === 'string' ? stripLocalPaths(json.failedReason) : json.failedReason,
    };
  };
  return job;
}

/**
 * BullMQ adapter listed under `boardName` (Bull Board keys, lists, searches and groups queues by
 * `getName()`; the BullMQ queue keeps its real name), with local paths cut from job stack traces.
 */
class McbQueueAdapter extends BullMQAdapter {
  constructor(
    queue: Queue,
    private readonly boardName: string,
    options: { displayName: string; description: string; delimiter: string },
  ) {
    super(queue, options);
  }

  override getName(): string {
    return this.boardName;
  }

  override async getJob(id: string) {
    const job = await super.getJob(id);
    return job ? withoutLocalPaths(job) : job;
  }

  override async getJobs(...args: Parameters<BullMQAdapter['getJobs']>) {
    return (await super.getJobs(...args)).map((job) => (job ? withoutLocalPaths(job) : job));
  }
}

function adapterFor(q: Queue, ref: QueueRef): McbQueueAdapter {
  if (!ref.tenantSlug) return new McbQueueAdapter(q, ref.name, { displayName: ref.name, description: '', delimiter: '' });
  const who = ref.tenantName ? `${ref.tenantSlug} (${ref.tenantName})` : ref.tenantSlug;
  return new McbQueueAdapter(q, boardQueueName(ref), {
    displayName: `${who} · webhooks`,
    description:
      `Jobs of tenant ${who}, queue ${ref.name}. webhook.process: one job per log, {logId} (a replay re-runs ` +
      'the same job, so these counts match the log browser). capi.send and orphans.link (linking the orphan ' +
      'payments one transaction left): {tenantId}.',
    delimiter: boardGroupDelimiter,
  });
}

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
 * a restart). A tenant's queue is listed as `<slug> · <name>:webhooks`, grouped per tenant (the
 * sidebar search finds it by slug or name). Jobs carry only ids (`{ logId }`, `{ tenantId }`), so the
 * board never shows payloads; their stack traces are shown without local file paths.
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
        overview: { groupByDelimiter: true },
        // Wide enough for a tenant group header (`<slug> · <name>`).
        menu: { width: '340px' },
      },
    },
  });
  // Real queue name → its BullMQ queue and the name Bull Board lists it under.
  const queues = new Map<string, { queue: Queue; boardName: string }>();

  const refresh = async () => {
    const refs = await listQueueRefs(deps.admin);
    const wanted = new Set(refs.map((r) => r.name));
    for (const ref of refs) {
      const known = queues.get(ref.name);
      const boardName = boardQueueName(ref);
      if (known?.boardName === boardName) continue;
      // New, or the tenant was renamed: (re)list it under its current name.
      if (known) board.removeQueue(known.boardName);
      const q = known?.queue ?? new Queue(ref.name, { connection: deps.queue.connection, prefix: deps.queue.prefix });
      if (!known) q.on('error', deps.queue.onError(`bull-board ${ref.name}`));
      queues.set(ref.name, { queue: q, boardName });
      board.addQueue(adapterFor(q, ref));
    }
    for (const [name, { queue: q, boardName }] of queues) {
      if (wanted.has(name)) continue;
      board.removeQueue(boardName);
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
      await Promise.all([...queues.values()].map(({ queue: q }) => q.close()));
      queues.clear();
    },
  };
}
