/** A body read to its end (`bytes`), or cut off once it passed the limit (`read`: bytes seen by then). */
export type LimitedRead = { ok: true; bytes: Buffer } | { ok: false; read: number };

/**
 * Reads `stream` chunk by chunk and stops — cancelling it, which closes the connection — as soon as
 * more than `limit` bytes arrived: an oversized body never sits whole in the heap. A null stream
 * reads as empty.
 */
export async function readWithLimit(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<LimitedRead> {
  if (!stream) return { ok: true, bytes: Buffer.alloc(0) };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return { ok: false, read: size };
    }
    chunks.push(value);
  }
  return { ok: true, bytes: Buffer.concat(chunks, size) };
}
