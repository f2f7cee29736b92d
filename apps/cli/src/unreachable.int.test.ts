import { createServer } from 'node:net';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../test/run-cli';
import { buildProgram } from './main';

// Commands that never touch the database.
const withoutDatabase = new Set(['keys generate']);
const sampleArgs: Record<string, string> = { slug: 'ppcu', provider: 'manychat', id: '1', identifier: 'a@example.com' };
// Options a command needs before it gets as far as the database.
const extraOptions: Record<string, string[]> = { replay: ['--tenant', 'ppcu', '--dry-run'] };

/** Every leaf command with placeholder arguments and its required options, walked from the real program. */
function everyCommand(): string[][] {
  const out: string[][] = [];
  const walk = (c: Command, path: string[]) => {
    if (c.commands.length === 0) {
      const args = c.registeredArguments.filter((a) => a.required).map((a) => sampleArgs[a.name()] ?? 'x');
      const options = c.options.filter((o) => o.mandatory).flatMap((o) => [o.long as string, 'X']);
      out.push([...path, ...args, ...options, ...(extraOptions[path.join(' ')] ?? [])]);
      return;
    }
    for (const sub of c.commands) walk(sub, [...path, sub.name()]);
  };
  walk(buildProgram(), []);
  return out;
}

let port: number;
const saved = { ...process.env };

beforeAll(async () => {
  // A port nobody listens on: bind, note it, close.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  process.env.DATABASE_URL = `postgres://postgres:do-not-print@127.0.0.1:${port}/mcb`;
  process.env.MCB_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');
});
afterAll(() => {
  process.env = saved;
});

describe('every CLI command that needs the database, with the database down (issue 16)', () => {
  it('prints one line naming the URL it tried (password masked) and `npm start`, and exits 1', async () => {
    const commands = everyCommand().filter((argv) => !withoutDatabase.has(argv.slice(0, 2).join(' ')));
    expect(commands.length).toBeGreaterThan(20);
    for (const argv of commands) {
      const run = await mcb(...argv);
      expect({ argv, code: run.code }).toEqual({ argv, code: 1 });
      expect(run.stderr, argv.join(' ')).toBe(
        `Cannot reach the database at postgres://postgres:****@127.0.0.1:${port}/mcb (connect ECONNREFUSED 127.0.0.1:${port}). ` +
          'Start the system with `npm start` (then run `npm run mcb -- …`, which uses its database; if npm start was given MCB_DATA_DIR, give mcb the same), or set DATABASE_URL to a running Postgres.\n',
      );
    }
  }, 120_000);

  it('says the same when DATABASE_URL is not set at all', async () => {
    delete process.env.DATABASE_URL;
    const run = await mcb('tenant', 'list');
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toMatch(/^mcb: DATABASE_URL is not set\. Start the system with `npm start`.*\n$/);
  });
});
