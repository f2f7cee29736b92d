// `npm run mcb` runs the CLI compiled, as production does (infra/docker/Dockerfile `cli`): from the
// TypeScript sources through tsx every call took 3–4.5 s, compiled it takes under 1 s. This script is
// what infra/dev/cli.mjs runs when the compiled CLI is missing or older than one of its sources:
// `node --import tsx infra/dev/build-cli.ts <builds folder>`.
//
// Each build goes into a folder of its own (`<builds>/<id>/apps/cli/dist/main.js`, beside a link to
// the repository's `drizzle/` where `mcb db migrate` looks for it), then `current.json` is replaced
// in one rename, so two calls building at once never see half a build.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apps, buildApp, root } from '../deploy/build';

/** A folder older than this that `current.json` no longer names is removed (no call can still be starting it). */
const keepOldBuildsMs = 10 * 60_000;

const buildsDir = resolve(process.argv[2] ?? join(root, '.mcb', 'build', 'cli'));
const cli = apps.find((a) => a.app === 'cli');
if (!cli) throw new Error('build-cli: no cli in infra/deploy/build.ts');

// Taken before reading any source: a file saved while the build runs is newer, so the next call builds again.
const builtAt = Date.now();
const id = `${builtAt.toString(36)}-${process.pid}`;
const outRoot = join(buildsDir, id);
mkdirSync(outRoot, { recursive: true });
const { metafile } = await buildApp(cli, outRoot);
symlinkSync(join(root, 'drizzle'), join(outRoot, 'drizzle'), 'dir');

// The metafile names every file read, relative to the app folder (esbuild's working directory); the
// lockfile is added so that an install that changes versions builds again too, and the two files that
// decide how it is built (the esbuild options, this script), so that an edit to them builds again.
const appDir = join(root, 'apps', 'cli');
const inputs = [
  ...Object.keys(metafile.inputs).map((p) => resolve(appDir, p)),
  join(root, 'pnpm-lock.yaml'),
  join(root, 'infra', 'deploy', 'build.ts'),
  fileURLToPath(import.meta.url),
];
const manifest = {
  entry: relative(buildsDir, join(outRoot, 'apps', 'cli', 'dist', 'main.js')),
  builtAt,
  node: process.version,
  // Each input with its modification time as read now: one restored with an older time (`cp -p`, `rsync -a`)
  // differs as much as one saved later.
  inputs: inputs.map((p) => [relative(root, p), statSync(p).mtimeMs]),
};
const temporary = join(buildsDir, `current.json.${id}`);
writeFileSync(temporary, `${JSON.stringify(manifest)}\n`);
renameSync(temporary, join(buildsDir, 'current.json'));

// Best effort, after the build is in place: a build running beside this one removes the same old
// folders, so an entry listed here may be gone when it is looked at. This build has succeeded either way.
for (const entry of readdirSync(buildsDir)) {
  const path = join(buildsDir, entry);
  if (entry === id || entry === 'current.json') continue;
  try {
    if (Date.now() - statSync(path).mtimeMs > keepOldBuildsMs) rmSync(path, { recursive: true, force: true });
  } catch {
    // Removed by another build (or not removable now): the next build tries again.
  }
}
