// Which file `npm run mcb` runs: the compiled CLI (infra/dev/build-cli.ts) when it is as new as every
// file it was built from, else a fresh build of it; the TypeScript sources through tsx only when a
// build fails. Plain JavaScript: bootstrap.mjs imports it before anything else is loaded.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The build's manifest (`current.json`), or null when there is none or it cannot be read. */
function readManifest(buildsDir) {
  try {
    return JSON.parse(readFileSync(join(buildsDir, 'current.json'), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Whether the build `manifest` describes can run as is: built by this Node.js, its bundle present,
 * and every input (`[path, mtimeMs]`) still there with the time it had when the build was written — and
 * that time before the build started (a file saved while esbuild ran may not be in the bundle).
 */
export function isFresh(root, buildsDir, manifest) {
  if (!manifest || manifest.node !== process.version || !Array.isArray(manifest.inputs)) return false;
  try {
    statSync(join(buildsDir, manifest.entry));
    for (const [path, mtimeMs] of manifest.inputs) {
      if (mtimeMs > manifest.builtAt || statSync(join(root, path)).mtimeMs !== mtimeMs) return false;
    }
  } catch {
    return false;
  }
  return true;
}

/**
 * The arguments for `node` that run the CLI: `[<compiled main.js>]`, building it first when it is
 * stale, or `['--import', 'tsx', <apps/cli/src/main.ts>]` when the build failed (said on stderr).
 */
export function cliNodeArgs(root, say, buildsDir = join(root, '.mcb', 'build', 'cli')) {
  let manifest = readManifest(buildsDir);
  if (!isFresh(root, buildsDir, manifest)) {
    say('compiling the CLI (once after each change to its sources; a few seconds)');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'infra', 'dev', 'build-cli.ts'), buildsDir], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    manifest = r.status === 0 ? readManifest(buildsDir) : null;
    if (!manifest) {
      say('could not compile the CLI: running it from its TypeScript sources (slower)');
      return ['--import', 'tsx', join(root, 'apps', 'cli', 'src', 'main.ts')];
    }
  }
  return [join(buildsDir, manifest.entry)];
}
