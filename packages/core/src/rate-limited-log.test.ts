import { describe, expect, it } from 'vitest';
import { createRateLimitedWarn } from './rate-limited-log';

describe('createRateLimitedWarn', () => {
  it('logs the first call, then at most one line per interval with the count it held back', () => {
    const lines: Array<[Record<string, unknown>, string]> = [];
    let t = 0;
    const warn = createRateLimitedWarn(
      { warn: ((f: Record<string, unknown>, m: string) => lines.push([f, m])) as never },
      {
        intervalMs: 1_000,
        now: () => t,
      },
    );
    warn({ err: 'ECONNREFUSED' }, 'redis error');
    for (let i = 0; i < 500; i++) {
      t += 1;
      warn({ err: 'ECONNREFUSED' }, 'redis error');
    }
    t = 1_000;
    warn({ err: 'ECONNRESET' }, 'redis error');
    expect(lines).toEqual([
      [{ err: 'ECONNREFUSED', suppressed: 0 }, 'redis error'],
      [{ err: 'ECONNRESET', suppressed: 500 }, 'redis error'],
    ]);
  });
});
