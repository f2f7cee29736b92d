import { randomUUID } from 'node:crypto';
import { testEnv } from '@mcb/testing';
import { getTableColumns, getTableName, is, Table } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase } from './client';
import * as schema from './schema/index';
import { type ReportRunRow, toReportRun, toWebhookLog, type WebhookLogRow } from './schema/index';
import { withTenantSql } from './tenant-scope';

const { databaseUrl } = testEnv();
const owner = createDatabase({ url: databaseUrl, role: 'owner', max: 1 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 1 });
afterAll(() => Promise.all([owner.close(), app.close()]));

const tables = (Object.values(schema) as unknown[]).filter((v): v is Table => is(v, Table));

describe('row types come from the drizzle schema (ADR 0018)', () => {
  it('every table of the schema has exactly the columns the migrations made, so `XRow` is what `select *` returns', async () => {
    expect(tables.length).toBeGreaterThanOrEqual(16);
    for (const table of tables) {
      const name = getTableName(table);
      const rows = await owner.sql<{ column_name: string }[]>`
        select column_name from information_schema.columns where table_schema = 'public' and table_name = ${name}`;
      const inDatabase = rows.map((r) => r.column_name).sort();
      const inSchema = Object.values(getTableColumns(table))
        .map((c) => c.name)
        .sort();
      expect(inDatabase, name).toEqual(inSchema);
    }
  });

  it('returns values with the schema types: bigint as number, date as its calendar day, timestamptz as Date, bytea as Buffer, jsonb parsed', async () => {
    const [tenant] = await owner.sql<{ id: string }[]>`
      insert into tenants (slug, name) values (${`rows-${randomUUID().slice(0, 8)}`}, 'Rows') returning id`;
    const tenantId = (tenant as { id: string }).id;
    const [log, run] = await withTenantSql(app.sql, tenantId, async (tx) => {
      const [l] = await tx<WebhookLogRow[]>`
        insert into webhook_logs (tenant_id, source, dedupe_key, headers, payload, raw_body)
        values (${tenantId}, 'stripe', 'evt_rows', ${tx.json({ 'content-type': 'application/json' })}, ${tx.json({ a: 1 })}, ${Buffer.from('{"a":1}')})
        returning *`;
      const [r] = await tx<ReportRunRow[]>`
        insert into report_runs (tenant_id, kind, period_start, period_end) values (${tenantId}, 'weekly', ${'2026-03-02'}, ${'2026-03-08'})
        returning *`;
      return [l as WebhookLogRow, r as ReportRunRow];
    });
    expect(typeof log.id).toBe('number');
    expect(log.received_at).toBeInstanceOf(Date);
    expect(log.raw_body).toEqual(Buffer.from('{"a":1}'));
    expect(toWebhookLog(log)).toMatchObject({ tenantId, source: 'stripe', dedupeKey: 'evt_rows', payload: { a: 1 }, status: 'received' });
    expect(toReportRun(run)).toMatchObject({ periodStart: '2026-03-02', periodEnd: '2026-03-08', status: 'pending', recipients: [] });
    expect(typeof run.id).toBe('number');
    // A date parameter given as a Date still means its UTC day, as before.
    const [day] = await owner.sql<{ d: string }[]>`select ${new Date('2026-03-02T00:00:00Z')}::date as d`;
    expect(day?.d).toBe('2026-03-02');
  });
});

describe('connection lifetime (no backend, and none of its cached plans, outlives maxLifetimeSeconds)', () => {
  const backendPid = async (q: <T>(s: TemplateStringsArray) => Promise<T>) =>
    ((await q<{ pid: number }[]>`select pg_backend_pid() as pid`)[0] as { pid: number }).pid;

  it('is 300 s unless set (postgres.js alone would keep a connection 30–60 min)', async () => {
    const db = createDatabase({ url: databaseUrl, role: 'owner', max: 1 });
    try {
      expect((db.sql.options as { max_lifetime: number | null }).max_lifetime).toBe(300);
    } finally {
      await db.close();
    }
  });

  it('replaces a busy connection once its lifetime is over, with no statement failing', async () => {
    const db = createDatabase({ url: databaseUrl, role: 'owner', max: 1, maxLifetimeSeconds: 1 });
    try {
      const pids = new Set<number>();
      const until = Date.now() + 2_600;
      let statements = 0;
      while (Date.now() < until) {
        pids.add(await backendPid(db.sql));
        statements += 1;
      }
      expect(statements).toBeGreaterThan(20);
      expect(pids.size).toBeGreaterThanOrEqual(2);
    } finally {
      await db.close();
    }
  });

  it('lets a reserved connection (the receiver group-commits on them) finish its work, then replaces it', async () => {
    const db = createDatabase({ url: databaseUrl, role: 'owner', max: 1, maxLifetimeSeconds: 1 });
    try {
      const reserved = await db.sql.reserve();
      const first = await backendPid(reserved);
      await new Promise((r) => setTimeout(r, 1_300));
      // Past its lifetime while reserved: still the same backend until it is released.
      expect(await backendPid(reserved)).toBe(first);
      const [begin, insideTx, commit] = await Promise.all([reserved`begin`, backendPid(reserved), reserved`commit`]);
      expect(begin).toBeDefined();
      expect(commit).toBeDefined();
      expect(insideTx).toBe(first);
      reserved.release();
      // Every query after the release runs, on a new backend (before the patch the second one failed).
      const after: number[] = [];
      for (let i = 0; i < 3; i++) after.push(await backendPid(db.sql));
      expect(after.every((pid) => pid !== first)).toBe(true);
    } finally {
      await db.close();
    }
  });
});
