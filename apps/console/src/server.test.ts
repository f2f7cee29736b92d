import { once } from 'node:events';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { consoleServerOptions, startConsoleServer } from './server';

describe('startConsoleServer', () => {
  it('sets Node request and header timeouts well under its defaults (300 s, 60 s)', async () => {
    const server = startConsoleServer(new Hono().fetch, { port: 0, hostname: '127.0.0.1' });
    try {
      await once(server, 'listening');
      expect(server.requestTimeout).toBe(consoleServerOptions.requestTimeout);
      expect(server.headersTimeout).toBe(consoleServerOptions.headersTimeout);
      expect(server.requestTimeout).toBeLessThanOrEqual(30_000);
      expect(server.headersTimeout).toBeLessThanOrEqual(server.requestTimeout);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
