import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript (bootstrap.mjs loads it before any install), no declarations
import { isFresh } from './cli.mjs';

// When `npm run mcb` may run the compiled CLI as it is (infra/dev/cli.mjs), on files of this test.
const root = mkdtempSync(join(tmpdir(), 'mcb-cli-fresh-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
writeFileSync(join(root, 'main.js'), '');
writeFileSync(join(root, 'source.ts'), '');
const builtAt = Date.now();
const past = new Date(builtAt - 60_000);
utimesSync(join(root, 'source.ts'), past, past);
const manifest = { entry: 'main.js', builtAt, node: process.version, inputs: ['source.ts'] };

describe('isFresh (the compiled CLI against its sources)', () => {
  it('is fresh when the bundle is there and no input changed since the build', () => {
    expect(isFresh(root, root, manifest)).toBe(true);
  });

  it('is stale when an input was saved after the build, is gone, or the bundle is gone', () => {
    const saved = join(root, 'saved.ts');
    writeFileSync(saved, '');
    const later = new Date(builtAt + 1_000);
    utimesSync(saved, later, later);
    expect(isFresh(root, root, { ...manifest, inputs: ['source.ts', 'saved.ts'] })).toBe(false);
    expect(isFresh(root, root, { ...manifest, inputs: ['source.ts', 'deleted.ts'] })).toBe(false);
    expect(isFresh(root, root, { ...manifest, entry: 'gone.js' })).toBe(false);
  });

  it('is stale when built by another Node.js, or when there is no manifest', () => {
    expect(isFresh(root, root, { ...manifest, node: 'v18.0.0' })).toBe(false);
    expect(isFresh(root, root, null)).toBe(false);
    expect(isFresh(root, root, { ...manifest, inputs: undefined })).toBe(false);
  });
});
