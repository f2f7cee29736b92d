import { McbError } from '@mcb/core';

const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `90s`, `30m`, `24h`, `7d` (or `0`) into milliseconds; throws `bad_request` otherwise. */
export function parseDuration(text: string): number {
  if (text.trim() === '0') return 0;
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new McbError('bad_request', `Invalid duration "${text}": use e.g. 30m, 24h or 7d`);
  return Number(m[1]) * unitMs[m[2] as keyof typeof unitMs];
}
