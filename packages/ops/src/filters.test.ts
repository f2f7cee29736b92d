import { decodeLogCursor, encodeLogCursor } from '@mcb/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertTimeWindow, describeEmptyLogSearch, parseTimeArg, resolveLogFilter } from './filters';

const now = new Date('2026-11-28T12:00:00.000Z');

describe('parseTimeArg', () => {
  // Read in a zone that is not UTC, as an operator's laptop may be: the answers must not move.
  const savedTz = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'America/Los_Angeles';
  });
  afterAll(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });
  it.each([
    ['90s', '2026-11-28T11:58:30.000Z'],
    ['30m', '2026-11-28T11:30:00.000Z'],
    ['24h', '2026-11-27T12:00:00.000Z'],
    ['7d', '2026-11-21T12:00:00.000Z'],
    ['2w', '2026-11-14T12:00:00.000Z'],
    ['2026-11-01', '2026-11-01T00:00:00.000Z'],
    ['2026-11-01T08:30:00Z', '2026-11-01T08:30:00.000Z'],
    ['2026-11-01T08:30:00-05:00', '2026-11-01T13:30:00.000Z'],
    ['2028-02-29', '2028-02-29T00:00:00.000Z'],
    // A time without an offset is UTC, as a date alone is — not the CLI machine's zone (operator walk, stop 38).
    ['2026-11-01T08:30', '2026-11-01T08:30:00.000Z'],
    ['2026-11-01 08:30:15', '2026-11-01T08:30:15.000Z'],
    // `--help` says "(default now)": the word itself is taken too (operator walk, stop 33).
    ['now', '2026-11-28T12:00:00.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(parseTimeArg(text, now).toISOString()).toBe(iso);
  });

  // 2026-02-30 was read as March 2, 2026-04-31 as May 1 (operator walk, stop 33).
  it.each([
    'yesterday',
    '24',
    'h24',
    '2026-13-45',
    '',
    '1y',
    '2026-02-30',
    '2026-04-31T10:00:00Z',
    '2026-02-29',
    // Before year 1 (Postgres refused it raw; the console answered 500), and past what a Date holds.
    '9999999d',
    '99999999h',
    '99999999999999999999999d',
  ])('refuses %j with a bad_request naming the input', (text) => {
    expect(() => parseTimeArg(text, now)).toThrow(
      expect.objectContaining({ code: 'bad_request', message: expect.stringContaining('Invalid time') }),
    );
  });
});

describe('log cursor', () => {
  it('round-trips and refuses anything else', () => {
    const cursor = { receivedAt: new Date('2026-11-28T10:11:12.345Z'), id: 9_007_199_254 };
    expect(decodeLogCursor(encodeLogCursor(cursor))).toEqual(cursor);
    for (const bad of [
      '',
      'x',
      Buffer.from('2026-11-28T10:11:12Z|abc').toString('base64url'),
      Buffer.from('nope|1').toString('base64url'),
    ]) {
      expect(decodeLogCursor(bad)).toBeNull();
    }
  });
});

describe('describeEmptyLogSearch (the console log page; mcb logs has its own default window)', () => {
  it('says all time when no since is given and there is no default', () => {
    expect(describeEmptyLogSearch({})).toBe('No logs match (received at any time).');
    expect(describeEmptyLogSearch({ tenant: ' acme ', until: '2026-11-08', q: ' ' })).toBe(
      'No logs match (tenant acme, received before 2026-11-08).',
    );
    expect(describeEmptyLogSearch({ since: '2h' }, { defaultSince: '24h', hint: 'look further back' })).toBe(
      'No logs match (received in the last 2h).',
    );
  });
});

// A new operator (stop 29): `--since 1d --until 7d` searched an empty window and said nothing.
describe('a time window that ends before it starts', () => {
  it('is refused, naming both ends as typed', async () => {
    expect(() => assertTimeWindow(new Date(1), new Date(0), '1d', '7d')).toThrow('Invalid time window: since 1d is not before until 7d');
    await expect(resolveLogFilter(undefined as never, { since: '1d', until: '7d' }, now)).rejects.toThrow(
      'Invalid time window: since 1d is not before until 7d',
    );
    await expect(resolveLogFilter(undefined as never, { since: '7d', until: '1d' }, now)).resolves.toMatchObject({
      since: expect.any(Date),
    });
  });
});

// A new operator (stop 29): `mcb logs --status faild` answered with zod's wording.
describe('a typo in a status or source', () => {
  it('names what was given and what is allowed', async () => {
    await expect(resolveLogFilter(undefined as never, { status: 'faild' }, now)).rejects.toThrow(
      'Invalid status: faild (one of received, processing, processed, ignored, failed, duplicate, rejected)',
    );
    await expect(resolveLogFilter(undefined as never, { source: 'stipe' }, now)).rejects.toThrow(
      'Invalid source: stipe (one of manychat, ghl, stripe, denefits, perspective)',
    );
  });
});
