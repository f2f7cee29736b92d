import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, testServiceUrls } from '@mcb/testing';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript (bootstrap.mjs loads it before any install), no declarations
import { cliNodeArgs } from './cli.mjs';

// `npm run mcb` runs the compiled CLI (infra/dev/cli.mjs + build-cli.ts), built into a folder of this test.
const root = fileURLToPath(new URL('../..', import.meta.url));
const buildsDir = mkdtempSync(join(tmpdir(), 'mcb-cli-builds-'));
const database = await createTestDatabase(testServiceUrls().postgresUrl, 'mcb_cli_build');
afterAll(async () => {
  rmSync(buildsDir, { recursive: true, force: true });
  await database.drop();
});

const node = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, args, { cwd: tmpdir(), encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });

describe('npm run mcb: the compiled CLI', () => {
  it('is built once, then reused while no source changes; it runs migrations from the repository’s drizzle/', () => {
    const said: string[] = [];
    const first: string[] = cliNodeArgs(root, (line: string) => said.push(line), buildsDir);
    expect(said).toEqual(['compiling the CLI (once after each change to its sources; a few seconds)']);
    expect(first).toHaveLength(1);
    expect(first[0]?.startsWith(buildsDir)).toBe(true);

    const second: string[] = cliNodeArgs(root, (line: string) => said.push(line), buildsDir);
    expect(second).toEqual(first);
    expect(said).toHaveLength(1);
    expect(readdirSync(buildsDir).sort()).toHaveLength(2); // one build folder + current.json
    // What decides how it is built counts as a source too: an edit to the build options builds again.
    const { inputs } = JSON.parse(readFileSync(join(buildsDir, 'current.json'), 'utf8'));
    expect(inputs.map(([path]: [string, number]) => path)).toEqual(
      expect.arrayContaining(['apps/cli/src/main.ts', 'pnpm-lock.yaml', 'infra/deploy/build.ts', 'infra/dev/build-cli.ts']),
    );

    const migrate = node([...first, 'db', 'migrate'], { DATABASE_URL: database.url });
    expect(migrate.stderr).toBe('');
    expect(migrate.stdout).toBe('Migrations applied.\n');
    const list = node([...first, 'tenant', 'list'], { DATABASE_URL: database.url });
    expect(list.stdout).toContain('No tenants.');
    expect(list.status).toBe(0);
    // With no tenant at all, stats says so as tenant list does, not a table of headings alone.
    const stats = node([...first, 'stats'], { DATABASE_URL: database.url });
    expect(stats.stdout.split('\n').slice(1)).toEqual(['No tenants. Add one with: mcb tenant add <slug> --name …', '']);
  });

  it('a build succeeds when an old entry vanishes while it cleans up (another build removed it first)', () => {
    // Two calls right after an edit build side by side, and each removes the builds older than 10 minutes:
    // one found an entry the other had just removed, its stat threw, and the call fell back to tsx after
    // a good build. A dangling link is such an entry: listed by readdir, gone for stat.
    const dir = mkdtempSync(join(tmpdir(), 'mcb-cli-cleanup-'));
    try {
      symlinkSync(join(dir, 'removed-by-another-build'), join(dir, 'old-build'));
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'infra', 'dev', 'build-cli.ts'), dir], {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const manifest = JSON.parse(readFileSync(join(dir, 'current.json'), 'utf8'));
      expect(readdirSync(dir)).toContain(manifest.entry.split('/')[0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to the TypeScript sources, and says so, when the build fails', () => {
    const blocked = join(buildsDir, 'a-file');
    writeFileSync(blocked, '');
    const said: string[] = [];
    const args: string[] = cliNodeArgs(root, (line: string) => said.push(line), join(blocked, 'builds'));
    expect(said.at(-1)).toBe('could not compile the CLI: running it from its TypeScript sources (slower)');
    expect(args).toEqual(['--import', 'tsx', join(root, 'apps', 'cli', 'src', 'main.ts')]);
  });
});
