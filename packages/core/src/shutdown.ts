import type { Logger } from 'pino';

export type Closer = { name: string; close: () => Promise<unknown> };

/**
 * Installs SIGTERM/SIGINT handlers that run `closers` in order, each bounded by what is left of
 * `deadlineMs`, then exit. A second signal exits at once. Used by every long-running app.
 */
export function onShutdown(closers: Closer[], log: Logger, deadlineMs = 8_000): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    const deadline = Date.now() + deadlineMs;
    for (const closer of closers) {
      const left = Math.max(100, deadline - Date.now());
      try {
        await Promise.race([closer.close(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), left).unref())]);
      } catch (err) {
        log.warn({ closer: closer.name, err: (err as Error).message }, 'close failed');
      }
    }
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
