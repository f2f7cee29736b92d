import { createDatabase, runMigrations } from '@mcb/db';
import { createTestDatabase, testServiceUrls } from '@mcb/testing';
import { afterAll, expect, it } from 'vitest';
import { createQueueConnection } from './connection';
import { checkReadiness } from './readiness';

// Prod walk, stop 32: a receiver on a database the migration Job had not reached yet answered /readyz 200
// (its `select 1` passed) while every webhook got 503 ("relation \"tenants\" does not exist").
const { postgresUrl, redisUrl } = testServiceUrls();
const db = await createTestDatabase(postgresUrl, 'mcb_ready');
const database = createDatabase({ url: db.url, role: 'owner', max: 1 });
const queue = createQueueConnection({ kind: 'redis', url: redisUrl }, `ready${Date.now().toString(36)}`);
afterAll(async () => {
  await queue.close();
  await database.close();
  await db.drop();
});

it('is not ready on a database that is not migrated, and says so; ready once it is', async () => {
  expect(await checkReadiness({ database, queue })).toEqual({ ok: false, postgres: 'not_migrated', queue: 'ok' });
  await runMigrations(db.url);
  expect(await checkReadiness({ database, queue })).toEqual({ ok: true, postgres: 'ok', queue: 'ok' });
});
