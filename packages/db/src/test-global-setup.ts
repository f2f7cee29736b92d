import { assertServicesReachable, createTestDatabase, deleteRedisKeys, testServiceUrls } from '@mcb/testing';
import type { TestProject } from 'vitest/node';
import { runMigrations } from './migrate';

/**
 * Integration-test global setup: checks Postgres and Redis (failing with the command that
 * starts them), creates this run's own database, applies the real migrations, and gives the
 * run a unique Redis key prefix. Reruns and parallel runs never collide; at the end the run's
 * database is dropped and every Redis key holding its prefix (also as `{prefix-…}`) deleted.
 */
export default async function setup(project: TestProject) {
  const urls = testServiceUrls();
  await assertServicesReachable(urls);
  const database = await createTestDatabase(urls.postgresUrl);
  await runMigrations(database.url);
  project.provide('databaseUrl', database.url);
  project.provide('redisUrl', urls.redisUrl);
  const redisPrefix = `mcbtest${Date.now().toString(36)}${process.pid}`;
  project.provide('redisPrefix', redisPrefix);
  return async () => {
    if (process.env.MCB_KEEP_TEST_DB) return;
    await database.drop();
    await deleteRedisKeys(urls.redisUrl, `*${redisPrefix}*`);
  };
}
