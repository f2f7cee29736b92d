import { closeHttpServer, createLogger, onShutdown, queueBackendFromEnv } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection } from '@mcb/queue';
import { createConsoleApp } from './app';
import { loadConsoleEnv } from './env';
import { startConsoleServer } from './server';

const env = loadConsoleEnv();
const log = createLogger({ name: 'console', level: env.LOG_LEVEL });
// Every console query is bounded: a search matching most of a large table ran on for seconds after its
// browser gave up, holding the pool and Postgres' CPU from every tenant's intake (attacker walk, stop 38).
const limits = { statementTimeoutMs: env.CONSOLE_STATEMENT_TIMEOUT_MS };
const admin = createDatabase({ url: env.DATABASE_URL, role: 'admin', max: 5, applicationName: 'mcb-console', ...limits });
const app = createDatabase({ url: env.DATABASE_URL, role: 'app', max: 5, applicationName: 'mcb-console-tenant', ...limits });
const queue = createQueueConnection(queueBackendFromEnv(env), env.QUEUE_PREFIX, { log });
const consoleApp = createConsoleApp({
  admin,
  app,
  queue,
  log,
  adminToken: env.ADMIN_TOKEN,
  queueRefreshMs: env.CONSOLE_QUEUE_REFRESH_MS,
  jobAttempts: env.JOB_ATTEMPTS,
  secureCookies: env.CONSOLE_COOKIE_SECURE,
  allowedOrigin: env.CONSOLE_ORIGIN,
  trustProxy: env.CONSOLE_TRUST_PROXY,
  signInMaxFailures: env.CONSOLE_SIGNIN_MAX_FAILURES,
  signInWindowMs: env.CONSOLE_SIGNIN_WINDOW_MS,
});
const server = startConsoleServer(consoleApp.app.fetch, { port: env.CONSOLE_PORT, hostname: env.HOST }, (info) => {
  log.info({ port: info.port }, 'console listening');
});

onShutdown(
  [
    { name: 'http', close: () => closeHttpServer(server) },
    { name: 'console', close: () => consoleApp.close() },
    { name: 'queue', close: () => queue.close() },
    { name: 'postgres', close: () => Promise.all([admin.close(), app.close()]) },
  ],
  log,
);
