import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript module of bootstrap.mjs (no types)
import { vitestTestArgs } from './test-args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const vitest = (project: string, args: string[]) =>
  spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', project, ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    encoding: 'utf8',
    timeout: 120_000,
  });

describe('npm test -- <paths>', () => {
  // Walk of the README, stop 34: `npm test -- packages/core/src/duration.test.ts` exited 1, its unit
  // tests passed and the integration project said "No test files found".
  it('runs a unit file alone in both projects and succeeds: the project with no such file passes empty', () => {
    const { vitestArgs, unmatched } = vitestTestArgs(root, ['packages/core/src/duration.test.ts']);
    expect(unmatched).toEqual([]);
    expect(vitest('integration', ['packages/core/src/duration.test.ts']).status).toBe(1); // what npm test did
    const int = vitest('integration', vitestArgs);
    expect(int.status, int.stdout + int.stderr).toBe(0);
    const unit = vitest('unit', vitestArgs);
    expect(unit.status, unit.stdout + unit.stderr).toBe(0);
    expect(unit.stdout).toMatch(/Tests\s+\d+ passed/);
  }, 120_000);

  it('refuses a filter that matches no test file, rather than passing with nothing run', () => {
    expect(vitestTestArgs(root, ['packages/core/src/durration.test.ts', '--reporter=dot'])).toEqual({
      vitestArgs: ['packages/core/src/durration.test.ts', '--reporter=dot', '--passWithNoTests'],
      unmatched: ['packages/core/src/durration.test.ts'],
    });
    // A path as the shell completes it (./…), absolute, or a part of one: each matches.
    for (const f of ['./infra/dev/claim.test.ts', join(root, 'infra/dev/claim.test.ts'), 'claim.test', 'packages/ops'])
      expect(vitestTestArgs(root, [f]).unmatched).toEqual([]);
    // No filter: the whole suite, where finding no test file is an error.
    expect(vitestTestArgs(root, [])).toEqual({ vitestArgs: [], unmatched: [] });
    const r = spawnSync(process.execPath, [join(root, 'infra', 'dev', 'bootstrap.mjs'), 'test', 'no/such/thing.test.ts'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toContain('no test file matches no/such/thing.test.ts');
  }, 120_000);
});
