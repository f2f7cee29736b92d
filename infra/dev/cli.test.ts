import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
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
const source = ['source.ts', statSync(join(root, 'source.ts')).mtimeMs];
const manifest = { entry: 'main.js', builtAt, node: process.version, inputs: [source] };

describe('isFresh (the compiled CLI against its sources)', () => {
  it('is fresh when the bundle is there and no input changed since the build', () => {
    expect(isFresh(root, root, manifest)).toBe(true);
  });

  it('is stale when an input was saved after the build, is gone, or the bundle is gone', () => {
    const saved = join(root, 'saved.ts');
    writeFileSync(saved, '');
    const later = new Date(builtAt + 1_000);
    utimesSync(saved, later, later);
    expect(isFresh(root, root, { ...manifest, inputs: [source, ['saved.ts', past.getTime()]] })).toBe(false);
    // Saved while the build ran: recorded with its new time, which is after the build started.
    expect(isFresh(root, root, { ...manifest, inputs: [source, ['saved.ts', later.getTime()]] })).toBe(false);
    expect(isFresh(root, root, { ...manifest, inputs: [source, ['deleted.ts', past.getTime()]] })).toBe(false);
    expect(isFresh(root, root, { ...manifest, entry: 'gone.js' })).toBe(false);
  });

  it('is stale when an input was put back with an older time than the one built (cp -p, rsync -a, tar)', () => {
    const restored = join(root, 'restored.ts');
    writeFileSync(restored, '');
    const older = new Date(builtAt - 3_600_000);
    utimesSync(restored, older, older);
    expect(isFresh(root, root, { ...manifest, inputs: [source, ['restored.ts', past.getTime()]] })).toBe(false);
  });

  it('is stale when built by another Node.js, or when there is no manifest', () => {
    expect(isFresh(root, root, { ...manifest, node: 'v18.0.0' })).toBe(false);
    expect(isFresh(root, root, null)).toBe(false);
    expect(isFresh(root, root, { ...manifest, inputs: undefined })).toBe(false);
  });
});
