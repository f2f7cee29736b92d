import { runMigrations } from '@mcb/db';
import type { TestProject } from 'vitest/node';
import { assertServicesReachable, createTestDatabase, testServiceUrls } from './services';

/**
 * Integration-test global setup: checks Postgres and Redis (failing with the command that
 * starts them), creates this run's own database, applies the real migrations, and gives the
 * run a unique Redis key prefix. Reruns and parallel runs never collide.
 */
export default async function setup(project: TestProject) {
  const urls = testServiceUrls();
  await assertServicesReachable(urls);
  const database = await createTestDatabase(urls.postgresUrl);
  await runMigrations(database.url);
  project.provide('databaseUrl', database.url);
  project.provide('redisUrl', urls.redisUrl);
  project.provide('redisPrefix', `mcbtest${Date.now().toString(36)}${process.pid}`);
  return async () => {
    if (!process.env.MCB_KEEP_TEST_DB) await database.drop();
  };
}
