import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The whiteboard of the house (README "Where things live", docs/adr): packages never import apps;
// apps do not import each other outside tests; sources import nothing with I/O, and the domain's
// vocabularies flow from sources to db, never back. Checked on every import of every source file.

const root = fileURLToPath(new URL('../../', import.meta.url));
const apps = readdirSync(join(root, 'apps'));
const packages = readdirSync(join(root, 'packages'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name === 'fixtures') return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(e.name) ? [path] : [];
  });
}

/** Test code and test support (factories, harnesses, fixture readers) may reach further. */
const isTestCode = (path: string) => /\.test\.tsx?$|\/test\/|test-fixtures\.ts$|test-global-setup\.ts$/.test(path);

function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map(
    (m) => (m[1] ?? m[2]) as string,
  );
}

const filesOf = (area: 'apps' | 'packages', name: string) =>
  sourceFiles(join(root, area, name)).filter((f) => !isTestCode(relative(root, f)));

describe('house rules', () => {
  it('finds the code it checks', () => {
    expect(apps).toEqual(expect.arrayContaining(['receiver', 'worker', 'console', 'cli']));
    expect(filesOf('packages', 'sources').length).toBeGreaterThan(20);
  });

  it.each(packages)('packages/%s never imports an app', (name) => {
    for (const file of filesOf('packages', name))
      for (const spec of importsOf(file)) {
        expect(
          apps.map((a) => `@mcb/${a}`),
          `${relative(root, file)} imports ${spec}`,
        ).not.toContain(spec.split('/').slice(0, 2).join('/'));
        expect(spec, relative(root, file)).not.toMatch(/(^|\/)apps\//);
      }
  });

  it.each(apps)('apps/%s imports no other app outside its tests', (name) => {
    for (const file of filesOf('apps', name))
      for (const spec of importsOf(file)) {
        const other = apps.filter((a) => a !== name).map((a) => `@mcb/${a}`);
        expect(other, `${relative(root, file)} imports ${spec}`).not.toContain(spec.split('/').slice(0, 2).join('/'));
        expect(spec, relative(root, file)).not.toMatch(/\.\.\/\.\.\/(apps|\.\.\/apps)\//);
      }
  });

  it('packages/sources imports nothing with I/O (no database, queue, network, file or process access)', () => {
    // Pure libraries only: schemas, Stripe's verifier, phone numbering plans (libphonenumber's bundled metadata).
    const allowed = /^(\.{1,2}\/|node:crypto$|zod$|stripe$|libphonenumber-js\/min$)/;
    for (const file of filesOf('packages', 'sources'))
      for (const spec of importsOf(file)) expect(spec, `${relative(root, file)} imports ${spec}`).toMatch(allowed);
    const manifest = JSON.parse(readFileSync(join(root, 'packages/sources/package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual(['libphonenumber-js', 'stripe', 'zod']);
  });

  // Re-walk, stop 33: a BullMQ object with no 'error' listener has its errors printed by BullMQ itself
  // (console.error, the whole ioredis error): with a wrong Redis password, `AUTH <user> <password>` in clear.
  it('every BullMQ Queue, Worker, QueueEvents or FlowProducer the code makes listens for its errors', () => {
    let made = 0;
    for (const area of ['apps', 'packages'] as const)
      for (const name of area === 'apps' ? apps : packages)
        for (const file of filesOf(area, name)) {
          const lines = readFileSync(file, 'utf8').split('\n');
          lines.forEach((line, i) => {
            if (!/\bnew (Queue|Worker|QueueEvents|FlowProducer)\(/.test(line)) return;
            made += 1;
            const after = lines.slice(i, i + 40).join('\n'); // the listener follows the constructor
            expect(after, `${relative(root, file)}:${i + 1} makes a BullMQ object without .on('error', …)`).toMatch(/\.on\('error',/);
          });
        }
    expect(made).toBeGreaterThan(4);
  });

  it('packages/db takes the domain vocabularies from @mcb/sources/domain, which imports nothing', () => {
    for (const file of filesOf('packages', 'db'))
      for (const spec of importsOf(file).filter((s) => s.startsWith('@mcb/sources')))
        expect(spec, relative(root, file)).toBe('@mcb/sources/domain');
    expect(importsOf(join(root, 'packages/sources/src/domain.ts'))).toEqual([]);
  });
});
