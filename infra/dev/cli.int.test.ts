import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

    const migrate = node([...first, 'db', 'migrate'], { DATABASE_URL: database.url });
    expect(migrate.stderr).toBe('');
    expect(migrate.stdout).toBe('Migrations applied.\n');
    const list = node([...first, 'tenant', 'list'], { DATABASE_URL: database.url });
    expect(list.stdout).toContain('No tenants.');
    expect(list.status).toBe(0);
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
