import { McbError } from './errors';

const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Milliseconds of a duration as operators and configs write it — `90s`, `30m`, `24h`, `7d`, `2w`, or `0` — else null. */
export function durationMs(text: string): number | null {
  const value = text.trim();
  if (value === '0') return 0;
  const m = /^(\d+)\s*([smhdw])$/.exec(value);
  return m ? Number(m[1]) * unitMs[m[2] as keyof typeof unitMs] : null;
}

/** `durationMs`, or a `bad_request` McbError naming the input. */
export function parseDuration(text: string): number {
  const ms = durationMs(text);
  if (ms === null) throw new McbError('bad_request', `Invalid duration "${text}": use e.g. 30m, 24h or 7d`);
  return ms;
}
