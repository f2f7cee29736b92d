import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

/**
 * Node's limits on the console's requests: the headers within 10 s and the whole request within 30 s
 * (Node's defaults are 60 s and 300 s), checked every second, so a client that withholds the end of
 * its request does not hold a connection and its buffers for minutes. Bodies are capped by route
 * (`limitBody`, http.ts).
 */
export const consoleServerOptions = { requestTimeout: 30_000, headersTimeout: 10_000, connectionsCheckingInterval: 1_000 } as const;

/** Starts the console's HTTP server (main.ts; tests pass port 0) with `consoleServerOptions`. */
export function startConsoleServer(
  fetch: (request: Request, env: unknown) => Response | Promise<Response>,
  listen: { port: number; hostname: string },
  onListening?: (info: AddressInfo) => void,
): Server {
  return serve({ fetch, port: listen.port, hostname: listen.hostname, serverOptions: consoleServerOptions }, onListening) as Server;
}
