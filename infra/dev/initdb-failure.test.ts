import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { initdbFailure } from './services';

describe('initdbFailure (npm start, first run)', () => {
  // Walk of the README, stop 34: Ctrl-C while the first run initialised Postgres printed "initdb failed
  // (see above)", with nothing above.
  it('says the initialisation was stopped, and that npm start does it again, when a signal ended it', () => {
    const stopped = spawnSync('sh', ['-c', 'kill -INT $$']);
    expect(stopped.signal).toBe('SIGINT');
    expect(initdbFailure(stopped).message).toBe(
      'initialising the embedded PostgreSQL was stopped (SIGINT) before it finished: npm start initialises it again',
    );
  });

  // pg-init handles Ctrl-C itself and exits 130 (128 + SIGINT): what npm start stopped during it saw.
  it('reads an exit of 130 or 143 as that signal, handled', () => {
    expect(initdbFailure(spawnSync('sh', ['-c', 'exit 130'])).message).toBe(
      'initialising the embedded PostgreSQL was stopped (SIGINT) before it finished: npm start initialises it again',
    );
    expect(initdbFailure(spawnSync('sh', ['-c', 'exit 143'])).message).toMatch(
      /^initialising the embedded PostgreSQL was stopped \(SIGTERM\)/,
    );
  });

  it('points at its own output when it failed, and names a program that could not run', () => {
    expect(initdbFailure(spawnSync('sh', ['-c', 'exit 3'])).message).toBe('initdb failed (exit 3; its output is above)');
    expect(initdbFailure(spawnSync('/no/such/node', [])).message).toMatch(/^initdb could not run: spawnSync \/no\/such\/node ENOENT/);
  });
});
