import { describe, expect, it } from 'vitest';
import { readWithLimit } from './stream';

/** A stream of `chunks`, recording whether the reader cancelled it. */
function streamOf(chunks: string[]) {
  const state = { cancelled: false, pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks[state.pulled++];
      if (next === undefined) controller.close();
      else controller.enqueue(new TextEncoder().encode(next));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

describe('readWithLimit', () => {
  it('reads a body up to the limit whole', async () => {
    const { stream, state } = streamOf(['ab', 'cd']);
    const read = await readWithLimit(stream, 4);
    expect(read.ok && read.bytes.toString('utf8')).toBe('abcd');
    expect(state.cancelled).toBe(false);
  });

  it('stops at the chunk that passes the limit and cancels the rest', async () => {
    const { stream, state } = streamOf(['ab', 'cd', 'ef', 'gh']);
    expect(await readWithLimit(stream, 3)).toEqual({ ok: false, read: 4 });
    expect(state.cancelled).toBe(true);
    expect(state.pulled).toBeLessThan(4);
  });

  it('reads no stream as empty', async () => {
    const read = await readWithLimit(null, 0);
    expect(read.ok && read.bytes.length).toBe(0);
  });
});
