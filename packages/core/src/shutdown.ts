import type { Logger } from 'pino';
import { withTimeout } from './retry';

export type Closer = { name: string; close: () => Promise<unknown> };

// Codes of a database or queue connection that went away (server restart, pg_terminate_backend, a
// network cut). The clients reconnect by themselves; the query that was on it has already failed.
const connectionLossCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  '57P01', // admin_shutdown: terminating connection due to administrator command
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

/** True for an error that only says a connection was lost (never a bug of ours). */
export function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && (connectionLossCodes.has(code) || code.startsWith('08'));
}

/**
 * SPEC §10.9: a lost database connection never kills a process; any other unexpected error does, with
 * exit code 1, so the supervisor (npm start, compose `restart:`, Kubernetes) starts the app again.
 * A connection loss that surfaces as a rejection nobody awaited (the client already failed the query
 * on that connection) is logged, rate-limited, and the process goes on.
 */
export function exitOnFatalErrors(log: Logger): void {
  let lastLossLog = 0;
  process.on('unhandledRejection', (err) => {
    if (isConnectionLoss(err)) {
      if (Date.now() - lastLossLog > 10_000) {
        lastLossLog = Date.now();
        log.warn({ err: (err as Error).message, code: (err as { code?: string }).code }, 'connection lost (the client reconnects)');
      }
      return;
    }
    log.fatal({ err: (err as Error)?.message, stack: (err as Error)?.stack }, 'unhandled rejection: exiting');
    process.exit(1);
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err: err.message, stack: err.stack }, 'uncaught exception: exiting');
    process.exit(1);
  });
}

/**
 * A second signal within this long of the first is the same stop delivered twice, not an operator's
 * "now": Ctrl-C sends SIGINT to the whole process group, and the supervisor (`npm start`) forwards its
 * own SIGTERM to each app a moment later. Exiting on that one killed in-flight jobs (run again later).
 */
export const repeatedSignalGraceMs = 2_000;

/**
 * Installs SIGTERM/SIGINT handlers that run `closers` in order, each bounded by what is left of
 * `deadlineMs`, then exit. Another signal more than `repeatedSignalGraceMs` after the first exits at
 * once (1). Used by every long-running app; it also installs `exitOnFatalErrors`.
 */
export function onShutdown(closers: Closer[], log: Logger, deadlineMs = 8_000): void {
  exitOnFatalErrors(log);
  let stoppingSince: number | null = null;
  const stop = async (signal: string) => {
    if (stoppingSince !== null) {
      if (Date.now() - stoppingSince < repeatedSignalGraceMs) return;
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stoppingSince = Date.now();
    log.info({ signal }, 'shutting down');
    const deadline = Date.now() + deadlineMs;
    for (const closer of closers) {
      const left = Math.max(100, deadline - Date.now());
      try {
        await withTimeout(closer.close(), left, `close ${closer.name}`);
      } catch (err) {
        log.warn({ closer: closer.name, err: (err as Error).message }, 'close failed');
      }
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // A closed terminal: drained like any stop (unhandled, SIGHUP killed the process mid-request).
  process.on('SIGHUP', () => void stop('SIGHUP'));
}
