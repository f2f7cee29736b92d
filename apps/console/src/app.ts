import { errorResponse, httpStatusOf, type Logger, McbError, withTimeout } from '@mcb/core';
import type { Database } from '@mcb/db';
import { checkReadiness, pingQueue, type QueueConnection, WebhookEnqueuer } from '@mcb/queue';
import { Hono, type MiddlewareHandler } from 'hono';
import { requestId } from 'hono/request-id';
import { createConsoleAuth, type SecureCookies, safeNext, tryAgainIn } from './auth';
import { createQueueBoard } from './bull-board';
import { adminBodyLimitBytes, type ConsoleEnv, describeThrown, errorFromThrown, formBodyLimitBytes, limitBody, wantsPage } from './http';
import { createAdminApi } from './routes/api';
import { errorPage } from './routes/layout';
import { createLogPages, loginPage, logoutPage } from './routes/pages';
import { createStatsPage } from './routes/stats-page';

export interface ConsoleDeps {
  /** Admin (`mcb_admin`): sessions, tenant lists and lookups, searches across tenants (ADR 0002). */
  admin: Database;
  /** App (`mcb_app`): every read and replay of one tenant's logs, under that tenant (RLS). */
  app: Database;
  queue: QueueConnection;
  log: Logger;
  adminToken: string;
  /** How often Bull Board re-discovers tenant queues (ms, default 30 s). */
  queueRefreshMs?: number;
  /** `Secure` cookie flag: `auto` (default: when the request came over https), `always`, `never`. */
  secureCookies?: SecureCookies;
  /** The console's public origin, when a proxy rewrites `Host` (state-changing requests must come from it). */
  allowedOrigin?: string;
  /** Client address from `X-Forwarded-For` (sign-in rate limit per client). */
  trustProxy?: boolean;
  signInMaxFailures?: number;
  signInWindowMs?: number;
  jobAttempts?: number;
}

export interface ConsoleApp {
  app: Hono<ConsoleEnv>;
  /** Forces a Bull Board queue re-discovery (tests, after adding a tenant). */
  refreshQueues: () => Promise<void>;
  close: () => Promise<void>;
}

/** Longest wait for Redis before a queue page or the job counts answer 503. */
const queueAnswerMs = 2_000;

/**
 * The operator console (SPEC §8): Bull Board at `/admin/queues`, the admin JSON API at `/admin/api`,
 * the log browser at `/admin/logs`, per-tenant stats at `/admin/stats`. Every route under `/admin`
 * requires `ADMIN_TOKEN` (bearer) or a session from `/login`; the only open routes are `/login`,
 * `/logout`, `/healthz` and `/readyz`.
 * Bodies are capped: `formBodyLimitBytes` on `/login` and `/logout`, `adminBodyLimitBytes` under
 * `/admin` (413 `payload_too_large`).
 */
export function createConsoleApp(deps: ConsoleDeps): ConsoleApp {
  const app = new Hono<ConsoleEnv>();
  const auth = createConsoleAuth({
    adminToken: deps.adminToken,
    database: deps.admin,
    log: deps.log,
    secureCookies: deps.secureCookies,
    allowedOrigin: deps.allowedOrigin,
    trustProxy: deps.trustProxy,
    signInMaxFailures: deps.signInMaxFailures,
    signInWindowMs: deps.signInWindowMs,
  });
  const enqueuer = new WebhookEnqueuer(deps.queue, deps.jobAttempts);
  const board = createQueueBoard({
    admin: deps.admin,
    queue: deps.queue,
    log: deps.log,
    basePath: '/admin/queues',
    refreshMs: deps.queueRefreshMs,
  });

  app.use(requestId());
  // Never framed by another site: a sibling subdomain's page is same-site, so a framed console carried
  // the session, and its buttons (sign out, replay) could be clicked through a disguised page.
  // These two headers only: Hono's secureHeaders defaults add `Referrer-Policy: no-referrer`, under which
  // a browser sends `Origin: null` on the console's own forms, and sign-in over plain http off loopback
  // (no Sec-Fetch-Site there) was refused as cross-site (re-walk, stop 33).
  app.use(async (c, next) => {
    await next();
    c.res.headers.set('X-Frame-Options', 'DENY');
    c.res.headers.set('Content-Security-Policy', "frame-ancestors 'none'");
  });
  app.onError((err, c) => {
    if (!(err instanceof McbError)) deps.log.error({ err: err.message, path: c.req.path, requestId: c.get('requestId') }, 'console error');
    // A page opened in a browser gets a page saying it (it got the API's JSON: faults walk, stop 37).
    if (wantsPage(c.req.path, c.req.header('accept'))) {
      const { code, message } = describeThrown(err);
      return c.html(errorPage(message, c.get('requestId')), httpStatusOf(code) as 500);
    }
    return errorFromThrown(c, err);
  });
  app.notFound((c) => errorResponse(c, 'not_found', `No route ${c.req.method} ${c.req.path}`));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const { ok } = await checkReadiness({ database: deps.admin, queue: deps.queue });
    return c.json({ ok }, ok ? 200 : 503);
  });
  app.get('/', (c) => c.redirect('/admin/logs'));
  app.get('/login', (c) => c.html(loginPage(safeNext(c.req.query('next')))));
  app.post('/login', limitBody(formBodyLimitBytes), async (c) => {
    const crossSite = auth.refuseCrossSite(c, false);
    if (crossSite) return crossSite;
    const form = await c.req.parseBody();
    const next = safeNext(typeof form.next === 'string' ? form.next : undefined);
    const token = typeof form.token === 'string' ? form.token : '';
    const result = await auth.login(c, token);
    if (result.outcome === 'ok') return c.redirect(next, 303);
    if (result.outcome === 'blocked')
      return c.html(loginPage(next, `Too many failed sign-ins from here: ${tryAgainIn(result.retrySeconds)}.`), 429);
    return c.html(loginPage(next, 'Wrong token.'), 401);
  });
  // Signing out changes state: by POST from the console's own pages only (a sibling subdomain's page
  // is same-site, so SameSite=Strict alone let it sign the operator out). GET only shows the button.
  app.get('/logout', (c) => c.html(logoutPage()));
  app.post('/logout', limitBody(formBodyLimitBytes), async (c) => {
    const crossSite = auth.refuseCrossSite(c, false);
    if (crossSite) return crossSite;
    await auth.logout(c);
    return c.redirect('/login', 303);
  });

  // Everything under /admin, Bull Board's UI, API and static assets included, needs auth.
  app.use('/admin', auth.require);
  app.use('/admin/*', auth.require);
  // After auth: a body is read for a signed-in operator only, and never past the limit.
  app.use('/admin/*', limitBody(adminBodyLimitBytes));
  app.get('/admin', (c) => c.redirect('/admin/logs'));
  // The queues live in Redis, whose client waits for it forever: Bull Board and the job counts hung for as
  // long as Redis was down or paused (faults walk, stop 37). Asked first, with a bound: 503 naming it.
  const requireQueue: MiddlewareHandler<ConsoleEnv> = async (_c, next) => {
    await withTimeout(pingQueue(deps.queue), queueAnswerMs, 'Redis ping').catch(() => {
      throw new McbError(
        'unavailable',
        `The queue backend (Redis) did not answer within ${queueAnswerMs} ms: queues and job counts are unavailable until it does; check that it runs and that REDIS_URL points at it`,
      );
    });
    return next();
  };
  app.use('/admin/api/queues', requireQueue);
  app.route('/admin/api', createAdminApi({ admin: deps.admin, app: deps.app, queue: deps.queue, enqueuer }));
  app.route('/admin/logs', createLogPages({ admin: deps.admin, app: deps.app, enqueuer }));
  app.route('/admin/stats', createStatsPage({ admin: deps.admin }));
  app.use('/admin/queues/*', requireQueue, async (_c, next) => {
    await board.ready();
    return next();
  });
  app.use('/admin/queues', requireQueue, async (_c, next) => {
    await board.ready();
    return next();
  });
  // Bull Board links to its overview as `/admin/queues/?status=…` (its base path with a slash); reloaded,
  // bookmarked or opened in a new tab that address must not be a 404.
  app.get('/admin/queues/', (c) => c.redirect(`/admin/queues${new URL(c.req.url).search}`));
  app.route('/admin/queues', board.app);

  return {
    app,
    refreshQueues: board.refresh,
    close: async () => {
      await Promise.all([board.close(), enqueuer.close()]);
    },
  };
}
