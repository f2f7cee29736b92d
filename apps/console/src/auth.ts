import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { type ConsoleEnv, errorResponse } from './http';

export const sessionCookieName = 'mcb_console';
const sessionTtlMs = 12 * 3600 * 1000;

/** Constant-time comparison of a presented token with `ADMIN_TOKEN` (digests first: equal lengths). */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Cookie signing key, derived from `ADMIN_TOKEN`: rotating the token ends every session. */
function cookieSecret(adminToken: string): string {
  return createHmac('sha256', adminToken).update('mcb-console-session-v1').digest('base64url');
}

export interface ConsoleAuth {
  /** Lets a request through with `Authorization: Bearer <ADMIN_TOKEN>` or a valid session cookie; else 401. */
  require: MiddlewareHandler<ConsoleEnv>;
  /** Starts a browser session (signed, HTTP-only, SameSite=Strict cookie) when `token` is right. */
  login: (c: Context<ConsoleEnv>, token: string) => Promise<boolean>;
  logout: (c: Context<ConsoleEnv>) => void;
}

export function createConsoleAuth(adminToken: string, options: { secureCookies?: boolean } = {}): ConsoleAuth {
  const secret = cookieSecret(adminToken);

  const hasSession = async (c: Context<ConsoleEnv>) => {
    const value = await getSignedCookie(c, secret, sessionCookieName);
    const m = typeof value === 'string' ? /^v1\.(\d{13})$/.exec(value) : null;
    return m !== null && Number(m[1]) > Date.now();
  };

  const require: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    const header = c.req.header('authorization');
    const bearer = header && /^Bearer\s+(.+)$/i.exec(header)?.[1];
    if (bearer && tokenMatches(bearer.trim(), adminToken)) return next();
    if (await hasSession(c)) return next();
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

  return {
    require,
    login: async (c, token) => {
      if (!tokenMatches(token, adminToken)) return false;
      const secure = options.secureCookies ?? new URL(c.req.url).protocol === 'https:';
      await setSignedCookie(c, sessionCookieName, `v1.${Date.now() + sessionTtlMs}`, secret, {
        httpOnly: true,
        sameSite: 'Strict',
        secure,
        path: '/',
        maxAge: sessionTtlMs / 1000,
      });
      return true;
    },
    logout: (c) => {
      deleteCookie(c, sessionCookieName, { path: '/' });
    },
  };
}

/** Only same-site console paths are valid targets after login (no open redirect). */
export function safeNext(next: string | undefined): string {
  return next && /^\/admin(\/[\w\-./%?=&]*)?$/.test(next) && !next.includes('..') ? next : '/admin/logs';
}
