import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, '..', 'test', 'shutdown-app.ts');

/** The app of test/shutdown-app.ts, its closer taking `closeMs`. */
function app(closeMs: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(closeMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<{ code: number | null; out: string }>((resolve) => child.on('exit', (code) => resolve({ code, out })));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    void exited.then(({ code }) => reject(new Error(`app exited (${code}) before it was ready`)));
  });
  return { child, ready, exited };
}

describe('onShutdown', () => {
  it("Ctrl-C's SIGINT then the supervisor's SIGTERM a moment later: one stop, the job finishes, exit 0", async () => {
    const { child, ready, exited } = app(1_000);
    await ready;
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    const { code, out } = await exited;
    expect({ code, closed: out.includes('closed') }).toEqual({ code: 0, closed: true });
  }, 30_000);

  it('SIGHUP (the terminal closed) is a stop like any other: the job finishes, exit 0', async () => {
    const { child, ready, exited } = app(500);
    await ready;
    child.kill('SIGHUP');
    const { code, out } = await exited;
    expect({ code, closed: out.includes('closed') }).toEqual({ code: 0, closed: true });
  }, 30_000);

  it('a signal again well after the first (an operator insisting) exits at once with 1', async () => {
    const { child, ready, exited } = app(20_000);
    await ready;
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 2_500));
    child.kill('SIGINT');
    const { code, out } = await exited;
    expect({ code, closed: out.includes('closed') }).toEqual({ code: 1, closed: false });
  }, 30_000);
});
