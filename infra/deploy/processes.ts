import type { ChildProcess } from 'node:child_process';
import { pollUntil } from '@mcb/testing';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export { freeLoopbackPort as freePort } from '@mcb/testing';

/** Resolves with how `child` ended (call before signalling it, so a quick exit is not missed). */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Polls `check` every 100 ms until it returns a value other than undefined; throws naming `what` past `timeoutMs`. */
export async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const value = await pollUntil(
    () => check().catch(() => undefined),
    (v) => v !== undefined,
    { timeoutMs, intervalMs: 100 },
  );
  if (value === undefined) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  return value;
}

/** The JSON body of the first 200 answer of `url` (a health probe), polling until `timeoutMs`. */
export function untilAnswers(url: string, timeoutMs: number): Promise<unknown> {
  return until(
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      return res.status === 200 ? await res.json() : undefined;
    },
    timeoutMs,
    `${url} to answer 200`,
  );
}
