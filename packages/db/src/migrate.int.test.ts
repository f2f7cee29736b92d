import { randomBytes } from 'node:crypto';
import { createTestDatabase, testServiceUrls } from '@mcb/testing';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { runMigrations } from './migrate';

// Prod walk, stop 32: a deployment's own user (no CREATEROLE, as on a managed Postgres) migrating a fresh
// database on a server where mcb_app and mcb_admin already exist (roles are per server) got a screenful of
// SQL from drizzle ("Failed query: …") and not Postgres's reason.
const { postgresUrl } = testServiceUrls();
const role = `mcb_mig_${randomBytes(4).toString('hex')}`;
const superuser = postgres(postgresUrl, { max: 1, onnotice: () => {} });
let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

afterAll(async () => {
  await db?.drop();
  await superuser.unsafe(`drop role if exists ${role}`);
  await superuser.end();
});

describe('runMigrations', () => {
  it("says Postgres's reason, what the user needs and which statement failed", async () => {
    // Make sure the roles exist on this server, as a first deployment leaves them.
    const first = await createTestDatabase(postgresUrl, 'mcb_mig_first');
    await runMigrations(first.url);
    await first.drop();
    db = await createTestDatabase(postgresUrl, 'mcb_mig');
    await superuser.unsafe(`create role ${role} login password 'pw'`);
    await superuser.unsafe(`alter database "${db.name}" owner to ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = 'pw';
    const failure = await runMigrations(url.toString()).catch((e: Error) => e);
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toMatch(/^migration failed: (must have admin option on role|permission denied)/);
    expect(message).toContain('the migrating user needs CREATEROLE, or the roles mcb_app and mcb_admin granted to it WITH ADMIN OPTION');
    expect(message).toMatch(/\(statement: .{1,120}\)$/);
    expect(message).not.toMatch(/\(statement: --/);
    expect(message.split('\n')).toHaveLength(1);
  });
});
