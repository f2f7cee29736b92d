import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { createLogger } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection } from '@mcb/queue';
import { testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/app';
import { adminBodyLimitBytes, formBodyLimitBytes } from '../src/http';
import { startConsoleServer } from '../src/server';
import { createTenant } from './factories';

// Security review: `POST /login` read its whole form, unauthenticated and unbounded (two 300 MiB bodies
// with the last byte withheld took the console from 175 MB to 749 MB). Bodies are now capped per route.

const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const token = 'console-body-limit-token-0123456789';
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const appDb = createDatabase({ url: databaseUrl, role: 'app', max: 2 });
const queue = createQueueConnection({ kind: 'redis', url: redisUrl }, `${redisPrefix}-console-body-limit`);
const consoleApp = createConsoleApp({
  admin,
  app: appDb,
  queue,
  log: createLogger({ name: 'console-test', level: 'silent' }),
  adminToken: token,
});
const app = consoleApp.app;
const host = 'console.test:3001';
const chunkBytes = 16 * 1024;

let server: Server;
beforeAll(async () => {
  server = startConsoleServer(app.fetch, { port: 0, hostname: '127.0.0.1' });
  await once(server, 'listening');
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await consoleApp.close();
  await queue.close();
  await Promise.all([admin.close(), appDb.close()]);
});

/** A streamed body (no Content-Length) of `totalBytes` in 16 KB chunks, counting what was pulled from it. */
function countedBody(totalBytes: number, first = '') {
  let pulled = 0;
  const head = new TextEncoder().encode(first);
  const chunk = new Uint8Array(chunkBytes).fill(0x61);
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled >= totalBytes) return controller.close();
        const next = pulled === 0 && head.length > 0 ? head : chunk;
        pulled += next.length;
        controller.enqueue(next);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled };
}

const post = (path: string, body: ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
  app.request(new Request(`http://${host}${path}`, { method: 'POST', headers: { host, ...headers }, body, duplex: 'half' } as RequestInit));

const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe('request bodies are capped before they are read', () => {
  it(`POST /login: a streamed form past ${formBodyLimitBytes} bytes is refused 413, and no more than the limit is read`, async () => {
    const body = countedBody(4 * 1024 * 1024, `token=${token}&next=`);
    const res = await post('/login', body.stream, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(413);
    expect(await codeOf(res)).toBe('payload_too_large');
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(body.pulled()).toBeLessThanOrEqual(formBodyLimitBytes + chunkBytes);
  });

  it('POST /login: a Content-Length past the limit is refused 413 without reading the body', async () => {
    const body = countedBody(4 * 1024 * 1024);
    const res = await post('/login', body.stream, {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(300 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    expect(await codeOf(res)).toBe('payload_too_large');
    expect(body.pulled()).toBe(0);
  });

  it('POST /login: a sign-in form within the limit still signs in', async () => {
    const res = await app.request(`http://${host}/login`, {
      method: 'POST',
      headers: { host },
      body: new URLSearchParams({ token, next: '/admin/logs' }),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toContain('mcb_console=');
  });

  it('POST /logout: a body past the limit is refused 413', async () => {
    const body = countedBody(1024 * 1024);
    const res = await post('/logout', body.stream);
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThanOrEqual(formBodyLimitBytes + chunkBytes);
  });

  it(`POST /admin/api/replay: a JSON body past ${adminBodyLimitBytes} bytes is refused 413, and no more than the limit is read`, async () => {
    const body = countedBody(4 * 1024 * 1024, '{"tenant":"');
    const res = await post('/admin/api/replay', body.stream, { authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    expect(res.status).toBe(413);
    expect(await codeOf(res)).toBe('payload_too_large');
    expect(body.pulled()).toBeLessThanOrEqual(adminBodyLimitBytes + chunkBytes);
  });

  it('POST /admin/api/replay without credentials: 401 before any of the body is read', async () => {
    const body = countedBody(4 * 1024 * 1024);
    const res = await post('/admin/api/replay', body.stream, { 'content-type': 'application/json' });
    expect(res.status).toBe(401);
    expect(body.pulled()).toBe(0);
  });

  it('POST /admin/api/replay within the limit still answers', async () => {
    const tenant = await createTenant(admin, 'limit');
    const res = await app.request(`http://${host}/admin/api/replay`, {
      method: 'POST',
      headers: { host, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: tenant.slug, dryRun: true }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ dryRun: true, matched: 0 });
  });
});

describe('the console server', () => {
  it('answers a 300 MiB sign-in form whose body never comes with 413 and closes the connection', async () => {
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `Content-Length: ${300 * 1024 * 1024}\r\n\r\ntoken=${'a'.repeat(1000)}`,
    );
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      answer += d;
    });
    // The server ends the connection itself: the rest of the body is neither awaited nor drained.
    await once(socket, 'close');
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toContain('"payload_too_large"');
  });
});
