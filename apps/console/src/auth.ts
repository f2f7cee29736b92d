import { createHmac } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import { errorResponse, type Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import { constantTimeEqual } from '@mcb/sources';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { ConsoleEnv } from './http';
import { checkSameOrigin } from './same-origin';
import { createSessionStore } from './sessions';
import { createSignInLimiter, signInClientKey } from './sign-in-limit';

export const sessionCookieName = 'mcb_console';
const sessionTtlMs = 12 * 3600 * 1000;
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Constant-time comparison of a presented token with `ADMIN_TOKEN` (the webhook secrets' compare). */
export function tokenMatches(given: string, expected: string): boolean {
  return constantTimeEqual(given, expected);
}

/** Cookie signing key, derived from `ADMIN_TOKEN`: rotating the token ends every session. */
function cookieSecret(adminToken: string): string {
  return createHmac('sha256', adminToken).update('mcb-console-session-v2').digest('base64url');
}

/** `Secure` cookie flag: always, never, or when the request came over https (directly or via a proxy). */
export type SecureCookies = 'auto' | 'always' | 'never';

export interface ConsoleAuthOptions {
  adminToken: string;
  /** Admin connection holding `console_sessions`. */
  database: Database;
  log: Logger;
  secureCookies?: SecureCookies;
  /** The console's public origin (`https://console.example`) when a proxy rewrites `Host`. */
  allowedOrigin?: string;
  /** Read the client address from the last `X-Forwarded-For` entry (behind a reverse proxy). */
  trustProxy?: boolean;
  /** Failed sign-ins per client before it is refused for the rest of the window. Default 10 per 10 min. */
  signInMaxFailures?: number;
  signInWindowMs?: number;
}

export interface ConsoleAuth {
  /**
   * Lets a request through with `Authorization: Bearer <ADMIN_TOKEN>` or a valid session cookie; else 401.
   * With a cookie, a state-changing request must also come from the console's own origin (else 403).
   */
  require: MiddlewareHandler<ConsoleEnv>;
  /** `POST /login`: the token form. Rate-limited per client; failures are logged (never the token). */
  /** `blocked`: this client failed too often; `retrySeconds` until it may try again (also sent as Retry-After). */
  login: (c: Context<ConsoleEnv>, token: string) => Promise<{ outcome: 'ok' | 'wrong' } | { outcome: 'blocked'; retrySeconds: number }>;
  /** Ends the session server-side and clears the cookie. */
  logout: (c: Context<ConsoleEnv>) => Promise<void>;
  /** 403 for a cross-site state-changing request (used on `/login` and `/logout`), else null. */
  refuseCrossSite: (c: Context<ConsoleEnv>, requireProof: boolean) => Response | null;
}

export function createConsoleAuth(options: ConsoleAuthOptions): ConsoleAuth {
  const { adminToken, log } = options;
  const secret = cookieSecret(adminToken);
  const sessions = createSessionStore(options.database, adminToken, sessionTtlMs);
  const limiter = createSignInLimiter({ maxFailures: options.signInMaxFailures ?? 10, windowMs: options.signInWindowMs ?? 600_000 });

  /** The client's sign-in limit key: its address, an IPv6 one by its /64 (`signInClientKey`). */
  const clientOf = (c: Context<ConsoleEnv>): string => signInClientKey(clientAddressOf(c));
  const clientAddressOf = (c: Context<ConsoleEnv>): string => {
    if (options.trustProxy) {
      const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
      if (forwarded) return forwarded;
    }
    try {
      return getConnInfo(c).remote.address ?? 'unknown';
    } catch {
      return 'unknown';
    }
  };

  const sessionId = async (c: Context<ConsoleEnv>): Promise<string | null> => {
    const value = await getSignedCookie(c, secret, sessionCookieName);
    const m = typeof value === 'string' ? /^v2\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
    return m ? (m[1] as string) : null;
  };

  const refuseCrossSite = (c: Context<ConsoleEnv>, requireProof: boolean): Response | null => {
    if (safeMethods.has(c.req.method)) return null;
    const verdict = checkSameOrigin(
      { host: c.req.header('host'), origin: c.req.header('origin'), 'sec-fetch-site': c.req.header('sec-fetch-site') },
      { allowedOrigin: options.allowedOrigin, requireProof },
    );
    if (verdict.ok) return null;
    log.warn(
      { requestId: c.get('requestId'), client: clientOf(c), method: c.req.method, path: c.req.path, reason: verdict.reason },
      'console cross-site request refused',
    );
    return errorResponse(c, 'forbidden', 'Cross-site request refused: state-changing requests must come from the console itself');
  };

  /** Sends `Retry-After` for a blocked client and returns its wait in whole seconds (at least 1). */
  const retryAfter = (c: Context<ConsoleEnv>, retryMs: number): number => {
    const seconds = Math.max(1, Math.ceil(retryMs / 1000));
    c.header('Retry-After', String(seconds));
    return seconds;
  };

  const tooMany = (c: Context<ConsoleEnv>, retryMs: number) => {
    const seconds = retryAfter(c, retryMs);
    return errorResponse(c, 'too_many_requests', `Too many failed sign-ins from this client: ${tryAgainIn(seconds)}`);
  };

  const recordFailure = (c: Context<ConsoleEnv>, how: 'form' | 'bearer') => {
    const client = clientOf(c);
    const { failures, justBlocked } = limiter.fail(client);
    log.warn({ requestId: c.get('requestId'), client, how, failures }, 'console sign-in refused');
    if (justBlocked) log.warn({ client, failures }, 'console sign-in: client blocked for the rest of its window');
  };

  const require: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    const header = c.req.header('authorization');
    const bearer = header && /^Bearer\s+(.+)$/i.exec(header)?.[1];
    if (bearer) {
      const retry = limiter.retryAfterMs(clientOf(c));
      if (retry > 0) return tooMany(c, retry);
      // A bearer token is no ambient credential (a cross-site page cannot set it): no origin check.
      if (tokenMatches(bearer.trim(), adminToken)) return next();
      recordFailure(c, 'bearer');
    } else {
      const id = await sessionId(c);
      if (id && (await sessions.isValid(id))) return refuseCrossSite(c, true) ?? next();
    }
    c.header('WWW-Authenticate', 'Bearer realm="mcb-console"');
    const wantsPage = c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html');
    if (wantsPage) {
      // Still a 401, but a browser is sent on to the login form.
      const target = `/login?next=${encodeURIComponent(c.req.path)}`;
      return c.html(
        html`<!doctype html><meta http-equiv="refresh" content="0;url=${target}" /><title>Sign in</title>
          <p>Authentication required. <a href="${target}">Sign in</a></p>`,
        401,
      );
    }
    return errorResponse(c, 'unauthorized', 'Authentication required: Authorization: Bearer <ADMIN_TOKEN>');
  };

  const secureFor = (c: Context<ConsoleEnv>): boolean => {
    const mode = options.secureCookies ?? 'auto';
    if (mode !== 'auto') return mode === 'always';
    return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
  };

  return {
    require,
    refuseCrossSite,
    login: async (c, token) => {
      const client = clientOf(c);
      const retry = limiter.retryAfterMs(client);
      if (retry > 0) {
        return { outcome: 'blocked', retrySeconds: retryAfter(c, retry) };
      }
      if (!tokenMatches(token, adminToken)) {
        recordFailure(c, 'form');
        return { outcome: 'wrong' };
      }
      limiter.succeed(client);
      const id = await sessions.open(client);
      await setSignedCookie(c, sessionCookieName, `v2.${id}`, secret, {
        httpOnly: true,
        sameSite: 'Strict',
        secure: secureFor(c),
        path: '/',
        maxAge: sessionTtlMs / 1000,
      });
      log.info({ requestId: c.get('requestId'), client }, 'console sign-in');
      return { outcome: 'ok' };
    },
    logout: async (c) => {
      const id = await sessionId(c);
      if (id) await sessions.end(id);
      deleteCookie(c, sessionCookieName, { path: '/', secure: secureFor(c) });
    },
  };
}

/** How long a blocked client waits, in words: "try again in 9 minutes" (seconds under a minute). */
export function tryAgainIn(seconds: number): string {
  if (seconds < 60) return `try again in ${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `try again in ${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** Only same-site console paths are valid targets after login (no open redirect). */
export function safeNext(next: string | undefined): string {
  return next && /^\/admin(\/[\w\-./%?=&]*)?$/.test(next) && !next.includes('..') ? next : '/admin/logs';
}
