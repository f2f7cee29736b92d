import { createServer } from 'node:net';

/** A loopback TCP port that was free a moment ago (bound to 0, then released): for a process a test starts, or as a dead port. */
export async function freeLoopbackPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}
