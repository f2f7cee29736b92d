#!/usr/bin/env node
// Entry point of `npm start`, `npm test`, `npm run mcb` and `npm run bench` on a machine that may
// have nothing but Node.js 20 and npm: installs pnpm and the dependencies when they are missing,
// then hands over to the real command. Plain JavaScript on purpose: it runs before any install.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PNPM_VERSION = '12.4.2';
const localPnpm = join(root, '.mcb', 'tools', 'node_modules', '.bin', 'pnpm');

function say(line) {
  process.stderr.write(`[mcb] ${line}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

/** An install step: its output goes to stderr, so stdout stays the command's own (`npm run -s mcb -- … --json | jq`). */
const quietStdout = { stdio: ['inherit', 2, 2] };

function pnpmCommand() {
  for (const candidate of ['pnpm', localPnpm]) {
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim().split('.')[0] === PNPM_VERSION.split('.')[0]) return candidate;
  }
  say(`pnpm ${PNPM_VERSION} not found: installing it (npm i -g pnpm@${PNPM_VERSION})`);
  if (run('npm', ['i', '-g', `pnpm@${PNPM_VERSION}`], { stdio: ['ignore', 'ignore', 'inherit'] }) === 0) {
    const r = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return 'pnpm';
  }
  say('global install not possible: installing pnpm into .mcb/tools');
  if (run('npm', ['i', '--no-save', '--prefix', join(root, '.mcb', 'tools'), `pnpm@${PNPM_VERSION}`], quietStdout) !== 0) {
    say(`could not install pnpm; install it by hand: npm i -g pnpm@${PNPM_VERSION}`);
    process.exit(1);
  }
  return localPnpm;
}

function ensureInstalled(pnpm) {
  const marker = join(root, 'node_modules', '.modules.yaml');
  const lock = join(root, 'pnpm-lock.yaml');
  const fresh = existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs;
  if (fresh) return;
  say('installing dependencies (pnpm install --frozen-lockfile)');
  const code = run(pnpm, ['install', '--frozen-lockfile'], quietStdout);
  if (code !== 0) process.exit(code);
}

/** Variables written by `npm start` for the embedded services, used when the shell sets none. */
function devEnv() {
  const file = join(resolve(root, process.env.MCB_DATA_DIR ?? '.mcb'), 'dev.env');
  const env = { ...process.env };
  if (!existsSync(file)) return env;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m && env[m[1]] === undefined) env[m[1]] = m[2];
  }
  return env;
}

/** The parent pid of process `pid` (Linux /proc), or null where there is no /proc. */
function parentOf(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  } catch {
    return null;
  }
}

const scriptShells = new Set(['sh', 'dash', 'bash', 'ash', 'zsh', 'busybox']);

/** The command name of process `pid` (Linux /proc), or null. */
function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

function exec(cmd, args, env = process.env) {
  // A closed terminal answers every write EIO: this process must still pass the signal on and wait.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env });
  // SIGHUP: the terminal closed (or the SSH session dropped); stopped like Ctrl-C, never killed outright.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  // npm's `sh -c` may die of a SIGTERM without passing it on, and npm itself may be killed (SIGKILL)
  // while its `sh` lives on: when either goes away, stop the child as if signalled.
  // npm's script shell runs this as its child (`sh -c`) unless it is bash, which execs it: then the
  // parent is npm itself and the grandparent the shell that ran npm, which may end (`npm start &`, then
  // exit) while npm goes on. So the grandparent is watched only under a shell (review, stop 33).
  const parent = process.ppid;
  const grandparent = scriptShells.has(commandOf(parent)) ? parentOf(parent) : null;
  const watch = setInterval(() => {
    if (process.ppid === parent && (grandparent === null || parentOf(parent) === grandparent)) return;
    clearInterval(watch);
    child.kill('SIGTERM');
  }, 500);
  watch.unref();
  // A child ended by a signal exits as a shell reports it (128 + the signal's number: 130 for Ctrl-C).
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 0)));
}

const [command, ...args] = process.argv.slice(2);
const pnpm = pnpmCommand();
ensureInstalled(pnpm);
const bin = (name) => join(root, 'node_modules', '.bin', name);

switch (command) {
  case 'start':
    if (args.length) {
      say(
        `npm start takes no arguments (it was given: ${args.join(' ')}); configure it with environment variables, e.g. PORT=4000 npm start (README "Configuration")`,
      );
      process.exit(2);
    }
    exec(process.execPath, ['--import', 'tsx', join(root, 'infra', 'dev', 'start.ts'), ...args]);
    break;
  case 'mcb':
    // Compiled, as production runs it (infra/dev/cli.mjs): from the TypeScript sources a call took 3–4.5 s.
    exec(process.execPath, [...(await import('./cli.mjs')).cliNodeArgs(root, say), ...args], devEnv());
    break;
  case 'bench':
    if (!args[0]) {
      say('usage: npm run bench -- <name>   (see infra/bench/)');
      process.exit(2);
    }
    exec(process.execPath, ['--import', 'tsx', join(root, 'infra', 'bench', `${args[0]}.ts`), ...args.slice(1)]);
    break;
  case 'test': {
    // The browser tests (console, report screenshots) drive Debian's Chromium; say so before anything runs.
    const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
    if (!existsSync(chromium)) {
      say(`npm test needs Chromium for its browser tests and found none at ${chromium}.`);
      say('Install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set CHROMIUM_PATH, then run npm test again.');
      process.exit(1);
    }
    // Everything runs through turbo (turbo.json): lint (root task) and every package's typecheck side by
    // side, then the unit tests and, once they pass, the integration tests, alone on the machine (their
    // timings must not share the CPU with tsc). Extra arguments go to vitest: `npm test -- path/to/x.test.ts`.
    const { vitestArgs, unmatched } = (await import('./test-args.mjs')).vitestTestArgs(root, args);
    if (unmatched.length > 0) {
      say(`no test file matches ${unmatched.join(', ')} (a filter is part of a test file's path, e.g. packages/core/src/retry.test.ts)`);
      process.exit(1);
    }
    const steps = [
      ['lint and typecheck', ['run', 'lint', 'typecheck', '--concurrency=2', '--output-logs=errors-only']],
      [
        'unit and integration tests',
        ['run', 'test:unit', 'test:int', '--concurrency=1', ...(vitestArgs.length ? ['--', ...vitestArgs] : [])],
      ],
    ];
    for (const [name, stepArgs] of steps) {
      say(`${name}…`);
      const code = run(bin('turbo'), stepArgs);
      if (code !== 0) {
        // A path after `npm test --` narrows the tests only: lint reads every file of the checkout that
        // .gitignore leaves in, untracked ones too (a scratch script stopped a narrowed run: operator walk, stop 37).
        say(
          name === 'lint and typecheck'
            ? `${name} failed (they cover the whole checkout, untracked files too, whatever path narrows the tests: npx biome check . shows what lint found)`
            : `${name} failed`,
        );
        process.exit(code);
      }
    }
    break;
  }
  default:
    say('usage: node infra/dev/bootstrap.mjs start|test|mcb|bench');
    process.exit(2);
}
