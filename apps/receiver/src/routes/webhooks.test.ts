import { describe, expect, it } from 'vitest';
import { echoedSegment, echoedSegmentLimit } from './webhooks';

describe('echoedSegment (what a 404 and the access log repeat of the URL)', () => {
  it('keeps a segment of up to 64 characters whole, cuts a longer one to 64 and "…"', () => {
    expect(echoedSegmentLimit).toBe(64);
    expect(echoedSegment('ppcu')).toBe('ppcu');
    expect(echoedSegment('x'.repeat(64))).toBe('x'.repeat(64));
    expect(echoedSegment('x'.repeat(5_000))).toBe(`${'x'.repeat(64)}…`);
  });

  it('never ends in half a surrogate pair (a lone surrogate is not valid UTF-8 in the log)', () => {
    const cut = echoedSegment(`${'x'.repeat(63)}😀😀`);
    expect(cut).toBe(`${'x'.repeat(63)}…`);
    // A lone surrogate does not survive UTF-8: it would come back as U+FFFD.
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut);
  });
});
