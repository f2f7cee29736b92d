import { describe, expect, it } from 'vitest';
import { durationMs, parseDuration } from './duration';
import { McbError } from './errors';

describe('parseDuration', () => {
  it.each([
    ['24h', 86_400_000],
    ['30m', 1_800_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['90s', 90_000],
    [' 24 h ', 86_400_000],
    ['0', 0],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '24', 'h', '-1h', '1.5h', '24 hours', '1y'])('refuses %j with a bad_request', (text) => {
    expect(durationMs(text)).toBeNull();
    expect(() => parseDuration(text)).toThrow(McbError);
    expect(() => parseDuration(text)).toThrow(/Invalid duration/);
  });
});
