import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const key = Buffer.alloc(32, 7).toString('base64');

function boot(app: string, env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `apps/${app}/src/main.ts`], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr.trim() };
}

// Each case boots a real app process (tsx compiles its entry point): give it time on a busy machine.
describe('apps validate their config at boot', { timeout: 70_000 }, () => {
  // Exit status 78 (EX_CONFIG): npm start does not restart an app that refused its configuration.
  it.each(['receiver', 'worker', 'console'])('%s exits 78 with one line naming a missing DATABASE_URL', (app) => {
    const r = boot(app, { MCB_ENCRYPTION_KEY: key, ADMIN_TOKEN: 'x'.repeat(20) });
    expect(r.status).toBe(78);
    expect(r.stderr).toBe(`${app}: DATABASE_URL is not set`);
  });

  it('receiver names a bad PORT', () => {
    const r = boot('receiver', { DATABASE_URL: 'postgres://x@127.0.0.1/x', MCB_ENCRYPTION_KEY: key, PORT: 'abc' });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/^receiver: invalid environment variable PORT/);
  });

  it('console refuses a short ADMIN_TOKEN', () => {
    const r = boot('console', { DATABASE_URL: 'postgres://x@127.0.0.1/x', MCB_ENCRYPTION_KEY: key, ADMIN_TOKEN: 'short' });
    expect(r.status).toBe(78);
    expect(r.stderr).toBe('console: invalid environment variable ADMIN_TOKEN: must be at least 16 characters');
  });

  it('rejects an encryption key that is not 32 bytes', () => {
    const r = boot('worker', { DATABASE_URL: 'postgres://x@127.0.0.1/x', MCB_ENCRYPTION_KEY: 'dG9vLXNob3J0' });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/^worker: invalid environment variable MCB_ENCRYPTION_KEY/);
  });
});
