// `pnpm build`: each app compiled to one plain-JavaScript file with esbuild, so production runs
// `node apps/<app>/dist/main.js` with no TypeScript toolchain and no node_modules beside it. A module
// that is only ever loaded on demand (the OpenTelemetry SDK, when tracing is on) is bundled into a file
// of its own beside main.js, so a process that never takes that path never reads or parses it.
// Run from an app folder (its package.json `build` script) or with app names as arguments.
import { cpSync, existsSync, mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';

/** The repository root. */
export const root = fileURLToPath(new URL('../..', import.meta.url));

/** Files read from disk at run time, copied into `dist/node_modules/<name>` (the bundle cannot hold them). */
interface Asset {
  name: string;
  /** A package that depends on `name` (pnpm links it there, not at the app). */
  from: string;
  files: string[];
}

export interface AppBuild {
  app: string;
  assets: Asset[];
  /**
   * esbuild `keepNames`: every function and class created at run time goes through a `__name()`
   * call so that `.name` survives the bundle's renaming (BullMQ's `DelayedError5` still says
   * `DelayedError`; the worker and BullMQ compare error names). The receiver compares none (its one
   * check, `isRowDataError`, uses `instanceof`) and pays for the calls on every request: off there,
   * its CPU per request fell 199 → 167–179 µs in `npm run bench -- intake` (alternating runs).
   */
  keepNames: boolean;
}

export const apps: AppBuild[] = [
  { app: 'receiver', assets: [], keepNames: false },
  { app: 'worker', assets: [], keepNames: true },
  // Bull Board serves its UI (index.ejs, static/) from @bull-board/ui's own folder.
  {
    app: 'console',
    assets: [{ name: '@bull-board/ui', from: '@bull-board/api', files: ['package.json', 'dist'] }],
    keepNames: true,
  },
  { app: 'cli', assets: [], keepNames: true },
];

/**
 * Modules loaded on demand through `import(specifier)` from `importer`: bundled on their own into
 * `dist/<file>`, the import left pointing at that file. (esbuild's code splitting would do this too,
 * but measured +5.5 MB idle RSS on the worker: chunks shared with main.js are evaluated at start.)
 */
export const lazyModules = [
  { importer: 'packages/telemetry/src/index.ts', specifier: './sdk', source: 'packages/telemetry/src/sdk.ts', file: 'telemetry-sdk.js' },
];

/** Resolves each lazy module's import to its own file beside main.js (external to main.js). */
const lazyImports: Plugin = {
  name: 'lazy-modules',
  setup(b) {
    for (const lazy of lazyModules) {
      const filter = new RegExp(`^${lazy.specifier.replaceAll('.', '\\.')}$`);
      b.onResolve({ filter }, (args) =>
        args.importer === join(root, lazy.importer) ? { path: `./${lazy.file}`, external: true } : undefined,
      );
    }
  },
};

// CommonJS dependencies call `require` (often for Node built-ins), which an ES module lacks.
const banner = "import { createRequire as __mcbCreateRequire } from 'node:module'; const require = __mcbCreateRequire(import.meta.url);";

function packageDir(name: string, fromDir: string): string {
  // Node's lookup folders for `name` (its exports may hide package.json from require.resolve).
  for (const base of createRequire(join(fromDir, 'package.json')).resolve.paths(name) ?? []) {
    const dir = join(base, name);
    if (existsSync(join(dir, 'package.json'))) return realpathSync(dir);
  }
  throw new Error(`build: cannot find ${name} from ${fromDir}`);
}

function copyAssets(appDir: string, outDir: string, assets: Asset[]): void {
  for (const asset of assets) {
    const fromDir = packageDir(asset.from, appDir);
    const source = packageDir(asset.name, fromDir);
    const target = join(outDir, 'node_modules', asset.name);
    for (const file of asset.files) cpSync(join(source, file), join(target, file), { recursive: true, dereference: true });
  }
}

/**
 * Builds one app into `<outRoot>/apps/<app>/dist/main.js` (+ source map, + assets, + the lazy modules
 * it imports); `outRoot` is the repository by default (tests that run apps build elsewhere, so parallel
 * suites never share a dist). `metafile` covers every file written.
 */
export async function buildApp({ app, assets, keepNames }: AppBuild, outRoot = root): Promise<{ bytes: number; metafile: Metafile }> {
  const appDir = join(root, 'apps', app);
  const outDir = join(outRoot, 'apps', app, 'dist');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const options = {
    absWorkingDir: appDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: 'linked',
    // Keeps class and function names where code compares them (see `AppBuild.keepNames`).
    keepNames,
    banner: { js: banner },
    // CommonJS code reading __dirname/__filename gets the bundle's own location (Node ≥ 20.11).
    define: { __dirname: 'import.meta.dirname', __filename: 'import.meta.filename' },
    // msgpackr's optional native speed-up (BullMQ): not shipped; msgpackr falls back to plain JS.
    external: ['msgpackr-extract'],
    metafile: true as const,
    logLevel: 'warning',
  } satisfies BuildOptions;
  const result = await build({
    ...options,
    entryPoints: [join(appDir, 'src', 'main.ts')],
    outfile: join(outDir, 'main.js'),
    plugins: [lazyImports],
  });
  const metafile: Metafile = { inputs: { ...result.metafile.inputs }, outputs: { ...result.metafile.outputs } };
  const imported = new Set(Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path)));
  for (const lazy of lazyModules.filter((l) => imported.has(`./${l.file}`))) {
    const part = await build({ ...options, entryPoints: [join(root, lazy.source)], outfile: join(outDir, lazy.file) });
    Object.assign(metafile.inputs, part.metafile.inputs);
    Object.assign(metafile.outputs, part.metafile.outputs);
  }
  copyAssets(appDir, outDir, assets);
  // Marks dist as ES modules wherever it is copied (an image has no app package.json beside it).
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
  return { bytes: statSync(join(outDir, 'main.js')).size, metafile };
}

async function main(names: string[]): Promise<void> {
  const selected = names.length ? apps.filter((a) => names.includes(a.app)) : apps;
  const unknown = names.filter((n) => !apps.some((a) => a.app === n));
  if (unknown.length) throw new Error(`build: unknown app ${unknown.join(', ')} (known: ${apps.map((a) => a.app).join(', ')})`);
  for (const target of selected) {
    const { bytes } = await buildApp(target);
    process.stdout.write(`built apps/${target.app}/dist/main.js (${(bytes / 1024 / 1024).toFixed(1)} MiB)\n`);
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // From an app folder (`pnpm build` through turbo) the app is the folder's name.
  const args = process.argv.slice(2);
  const fromApp = relative(join(root, 'apps'), process.cwd());
  const names = args.length ? args : fromApp && !fromApp.startsWith('..') ? [basename(fromApp)] : [];
  main(names).catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
