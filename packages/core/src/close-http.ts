import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';

/**
 * Stops an HTTP server for a graceful shutdown without dropping a request that was on its way in.
 * 1. For `drainMs` it keeps accepting and answering (every response now closes its connection):
 *    connections the kernel had already accepted — still queued for the process under load — are
 *    served instead of reset when the listener closes.
 * 2. Then the listener closes (new connections are refused) — but not with `http.Server.close()`,
 *    which also destroys every connection with no request in progress, including one accepted a
 *    moment ago whose request is not parsed yet.
 * 3. Connections still idle `idleGraceMs` later are closed. Resolves when every connection has ended.
 */
export function closeHttpServer(server: Server, options: { drainMs?: number; idleGraceMs?: number } = {}): Promise<void> {
  const { drainMs = 1_000, idleGraceMs = 1_000 } = options;
  server.on('request', (_req, res) => res.setHeader('connection', 'close'));
  return new Promise((resolve) => {
    let sweep: NodeJS.Timeout | undefined;
    const timers = [
      setTimeout(() => NetServer.prototype.close.call(server, () => resolve()), drainMs),
      setTimeout(() => {
        server.closeIdleConnections();
        sweep = setInterval(() => server.closeIdleConnections(), 250);
      }, drainMs + idleGraceMs),
    ];
    server.once('close', () => {
      for (const t of timers) clearTimeout(t);
      clearInterval(sweep);
    });
  });
}
