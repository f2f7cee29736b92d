// The group committer against real Postgres: one batch larger than an INSERT chunk (64 rows) mixing
// new rows, duplicates inside the batch, duplicates of committed rows and rejected rows, for two
// tenants — every request gets the id of its own row (or of the row it duplicates), in order.
import { randomUUID } from 'node:crypto';
import { createDatabase } from '@mcb/db';
import { testEnv } from '@mcb/testing';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { GroupCommitter, type IntakeRow } from '../src/intake/group-commit';
import { createReceiverMetrics } from '../src/metrics';
import { createHarness, makeTenant } from './harness';

const h = createHarness('group-commit');
afterAll(() => h.close());

const enqueued: Array<{ tenantId: string; logId: number }> = [];
const committer = (maxRows: number) =>
  new GroupCommitter(
    {
      database: h.app,
      enqueuer: { enqueue: async (refs: Array<{ tenantId: string; logId: number }>) => void enqueued.push(...refs) } as never,
      queueReady: () => true,
      metrics: createReceiverMetrics({ defaults: false }),
      log: pino({ level: 'silent' }) as never,
    },
    { windowMs: 200, maxRows },
  );

const row = (tenantId: string, key: string, status: IntakeRow['status'] = 'received'): IntakeRow => ({
  tenantId,
  source: 'stripe',
  eventType: 'checkout.session.completed',
  dedupeKey: key,
  headers: JSON.stringify({ 'content-type': 'application/json', 'x-key': key }),
  payload: status === 'rejected' ? null : JSON.stringify({ id: key, n: key.length }),
  rawBody: status === 'rejected' ? Buffer.from(`evidence ${key}`) : null,
  status,
  errorMessage: status === 'rejected' ? `invalid_signature: ${key}` : null,
});

describe('group commit in chunks', () => {
  it('a 300-row batch of two tenants: each request gets its own row id (or the id it duplicates), rows in order', async () => {
    const a = await makeTenant(h, {});
    const b = await makeTenant(h, {});
    const gc = committer(500);
    const earlier = await gc.submit(row(a.id, 'seen-before'));
    const rows: IntakeRow[] = [];
    for (let i = 0; i < 300; i++) {
      const tenant = i % 3 === 0 ? b : a;
      if (i % 17 === 5) rows.push(row(a.id, 'seen-before'));
      else if (i % 11 === 7) rows.push(row(tenant.id, `rej-${i}`, 'rejected'));
      else if (i % 13 === 9)
        rows.push(row(tenant.id, `k-${i - 1}`)); // duplicate of an earlier request in the batch (or new)
      else rows.push(row(tenant.id, `k-${i}`));
    }
    const results = await Promise.all(rows.map((r) => gc.submit(r)));
    await gc.drain();

    const stored = await h.admin.sql<{ id: number; tenant_id: string; dedupe_key: string; status: string; headers: unknown }[]>`
      select id, tenant_id, dedupe_key, status, headers from webhook_logs where tenant_id in (${a.id}, ${b.id})`;
    const byId = new Map(stored.map((s) => [s.id, s]));
    const firstOwner = new Map<string, number>();
    for (const [i, r] of rows.entries()) {
      const result = results[i];
      const s = byId.get(result?.id as number);
      expect(s, `request ${i}`).toMatchObject({ tenant_id: r.tenantId, dedupe_key: r.dedupeKey, status: r.status });
      expect(s?.headers).toEqual(JSON.parse(r.headers));
      if (r.status === 'rejected') {
        expect(result?.duplicate).toBe(false);
        continue;
      }
      const k = `${r.tenantId}/${r.dedupeKey}`;
      if (r.dedupeKey === 'seen-before') expect(result).toEqual({ id: earlier.id, duplicate: true });
      else if (firstOwner.has(k)) expect(result).toEqual({ id: firstOwner.get(k), duplicate: true });
      else {
        expect(result?.duplicate).toBe(false);
        firstOwner.set(k, result?.id as number);
      }
    }
    // One row per key; rejected rows each their own; jobs for the new accepted rows only.
    const accepted = stored.filter((s) => s.status !== 'rejected');
    expect(new Set(accepted.map((s) => `${s.tenant_id}/${s.dedupe_key}`)).size).toBe(accepted.length);
    expect(stored.filter((s) => s.status === 'rejected')).toHaveLength(rows.filter((r) => r.status === 'rejected').length);
    const jobIds = enqueued.filter((j) => j.tenantId === a.id || j.tenantId === b.id).map((j) => j.logId);
    expect(jobIds.sort((x, y) => x - y)).toEqual(accepted.map((s) => s.id).sort((x, y) => x - y));
  });

  it('a row Postgres refuses inside a big batch fails only itself (stored raw), the others keep their ids', async () => {
    const a = await makeTenant(h, {});
    const gc = committer(500);
    const rows = Array.from({ length: 100 }, (_, i) => row(a.id, `ok-${i}-${randomUUID().slice(0, 6)}`));
    // Text Postgres' jsonb refuses (NUL escape) that row.ts would never build: the database is the judge here.
    (rows[70] as IntakeRow).payload = '{"id":"bad","v":"a\\u0000b"}';
    const results = await Promise.all(rows.map((r) => gc.submit(r)));
    expect(results[70]).toMatchObject({ storedRaw: true, duplicate: false });
    const stored = await h.admin.sql<{ id: number; dedupe_key: string; status: string }[]>`
      select id, dedupe_key, status from webhook_logs where tenant_id = ${a.id}`;
    const byId = new Map(stored.map((s) => [s.id, s]));
    for (const [i, r] of rows.entries()) {
      if (i === 70) expect(byId.get(results[i]?.id as number)).toMatchObject({ status: 'failed' });
      else expect(byId.get(results[i]?.id as number)).toMatchObject({ dedupe_key: r.dedupeKey, status: 'received' });
    }
  });
});

describe('connections retiring under load (maxLifetimeSeconds)', () => {
  it('costs no request: a pool whose connections end every second commits 3 s of steady batches with 0 failures', async () => {
    const a = await makeTenant(h, {});
    // The receiver's pool, with lifetimes short enough to end many times while connections are
    // reserved for a batch (postgres.js then handed the next query a terminated connection).
    const shortLived = createDatabase({ url: testEnv().databaseUrl, role: 'app', max: 4, maxLifetimeSeconds: 1 });
    // Every connection a batch is committed on, by its Postgres backend pid.
    const backends = new Set<number>();
    const sql = new Proxy(shortLived.sql, {
      get(target, key) {
        if (key !== 'reserve') return Reflect.get(target, key);
        return async () => {
          const reserved = await target.reserve();
          const [r] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
          backends.add(r?.pid as number);
          return reserved;
        };
      },
    });
    const gc = new GroupCommitter(
      {
        database: { ...shortLived, sql },
        enqueuer: { enqueue: async () => {} } as never,
        queueReady: () => true,
        metrics: createReceiverMetrics({ defaults: false }),
        log: pino({ level: 'silent' }) as never,
      },
      { windowMs: 1, maxConcurrent: 4 },
    );
    try {
      const failures: string[] = [];
      let ok = 0;
      const until = Date.now() + 3_000;
      // At least 3 s, and on until the pool has retired a connection (a loaded machine may take longer
      // to end one: postgres.js retires a connection between queries), at most 15 s.
      const latest = Date.now() + 15_000;
      const going = () => Date.now() < until || (backends.size <= 4 && Date.now() < latest);
      // 20 concurrent senders, each submitting its next row as soon as the last is committed.
      await Promise.all(
        Array.from({ length: 20 }, async (_, sender) => {
          for (let i = 0; going(); i++) {
            try {
              await gc.submit(row(a.id, `life-${sender}-${i}`));
              ok += 1;
            } catch (err) {
              failures.push((err as Error).message);
            }
          }
        }),
      );
      await gc.drain();
      const [stored] = await h.admin.sql<{ n: number }[]>`select count(*)::int as n from webhook_logs where tenant_id = ${a.id}`;
      expect(failures).toEqual([]);
      expect(ok).toBeGreaterThan(200);
      expect(stored?.n).toBe(ok);
      // The pool did retire connections meanwhile: more backends served batches than it holds at once.
      expect(backends.size).toBeGreaterThan(4);
    } finally {
      await shortLived.close();
    }
  });
});
