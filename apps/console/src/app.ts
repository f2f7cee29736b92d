import { type Logger, McbError } from '@mcb/core';
import type { Database } from '@mcb/db';
import { checkReadiness, type QueueConnection, WebhookEnqueuer } from '@mcb/queue';
import { type Context, Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { createConsoleAuth, safeNext } from './auth';
import { createQueueBoard } from './bull-board';
import { type ConsoleEnv, errorFromThrown, errorResponse } from './http';
import { createAdminApi } from './routes/api';
import { createLogPages, loginPage } from './routes/pages';

export interface ConsoleDeps {
  /** Admin (`mcb_admin`) connection: the console is an operator path across tenants. */
  database: Database;
  queue: QueueConnection;
  log: Logger;
  adminToken: string;
  /** How often Bull Board re-discovers tenant queues (ms, default 30 s). */
  queueRefreshMs?: number;
  /** Force the `Secure` cookie flag (default: only when the request came over https). */
  secureCookies?: boolean;
  jobAttempts?: number;
}

export interface ConsoleApp {
  app: Hono<ConsoleEnv>;
  /** Forces a Bull Board queue re-discovery (tests, after adding a tenant). */
  refreshQueues: () => Promise<void>;
  close: () => Promise<void>;
}

/**
 * The operator console (SPEC §8): Bull Board at `/admin/queues`, the admin JSON API at `/admin/api`,
 * the log browser at `/admin/logs`. Every route under `/admin` requires `ADMIN_TOKEN` (bearer) or a
 * session from `/login`; the only open routes are `/login`, `/logout`, `/healthz` and `/readyz`.
 */
export function createConsoleApp(deps: ConsoleDeps): ConsoleApp {
  const app = new Hono<ConsoleEnv>();
  const auth = createConsoleAuth(deps.adminToken, { secureCookies: deps.secureCookies });
  const enqueuer = new WebhookEnqueuer(deps.queue, deps.jobAttempts);
  const board = createQueueBoard({
    admin: deps.database,
    queue: deps.queue,
    log: deps.log,
    basePath: '/admin/queues',
    refreshMs: deps.queueRefreshMs,
  });

  app.use(requestId());
  app.onError((err, c) => {
    if (!(err instanceof McbError)) deps.log.error({ err: err.message, path: c.req.path, requestId: c.get('requestId') }, 'console error');
    return errorFromThrown(c, err);
  });
  app.notFound((c) => errorResponse(c, 'not_found', `No route ${c.req.method} ${c.req.path}`));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const { ok } = await checkReadiness(deps);
    return c.json({ ok }, ok ? 200 : 503);
  });
  app.get('/', (c) => c.redirect('/admin/logs'));
  app.get('/login', (c) => c.html(loginPage(safeNext(c.req.query('next')))));
  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined);
    const token = typeof form.token === 'string' ? form.token : '';
    if (await auth.login(c, token)) return c.redirect(next, 303);
    deps.log.warn({ requestId: c.get('requestId') }, 'console sign-in refused');
    return c.html(loginPage(next, 'Wrong token.'), 401);
  });
  const logout = (c: Context<ConsoleEnv>) => {
    auth.logout(c);
    return c.redirect('/login', 303);
  };
  app.get('/logout', logout);
  app.post('/logout', logout);

  // Everything under /admin, Bull Board's UI, API and static assets included, needs auth.
  app.use('/admin', auth.require);
  app.use('/admin/*', auth.require);
  app.get('/admin', (c) => c.redirect('/admin/logs'));
  app.route('/admin/api', createAdminApi({ admin: deps.database, queue: deps.queue, enqueuer }));
  app.route('/admin/logs', createLogPages({ admin: deps.database, enqueuer }));
  app.use('/admin/queues/*', async (_c, next) => {
    await board.ready();
    return next();
  });
  app.use('/admin/queues', async (_c, next) => {
    await board.ready();
    return next();
  });
  app.route('/admin/queues', board.app);

  return {
    app,
    refreshQueues: board.refresh,
    close: async () => {
      await Promise.all([board.close(), enqueuer.close()]);
    },
  };
}
