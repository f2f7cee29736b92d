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

// Review, stop 33: on a new Postgres server the roles the migrations create are missing too, and every
// app connection sets its role at start: the connection itself failed, and /readyz said "down".
it('says not_migrated when the row-level-security roles are not there yet', async () => {
  const missingRole = Object.assign(new Error('role "mcb_app" does not exist'), { code: '22023' });
  const unmigrated = { ...database, sql: (() => Promise.reject(missingRole)) as unknown as typeof database.sql };
  expect(await checkReadiness({ database: unmigrated, queue })).toEqual({ ok: false, postgres: 'not_migrated', queue: 'ok' });
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const down = { ...database, sql: (() => Promise.reject(refused)) as unknown as typeof database.sql };
  expect(await checkReadiness({ database: down, queue })).toEqual({ ok: false, postgres: 'down', queue: 'ok' });
});
