import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{apps,packages,infra}/**/*.test.{ts,tsx}'],
          exclude: ['**/node_modules/**', '**/*.int.test.{ts,tsx}'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{apps,packages,infra}/**/*.int.test.{ts,tsx}'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
          globalSetup: ['./packages/db/src/test-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
          // Integration files mostly wait on Postgres, Redis, timers and child processes: two at a time even
          // on two cores (vitest's default is cores − 1, one file at a time there). Each file makes its own
          // tenants (and database where it reads across tenants), so files running beside each other never
          // collide. On this 2-core machine: 6 min 31 s for the suite, against 10 min 58 s one at a time.
          maxWorkers: Math.max(2, availableParallelism() - 1),
        },
      },
    ],
  },
});
