import { randomBytes } from 'node:crypto';
import { createDatabase } from '@mcb/db';
import { createQueueConnection, webhookQueueName } from '@mcb/queue';
import { testEnv } from '@mcb/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';

// Issue 13 item 2: replay never processes rejected rows, asks before acting on many rows, and
// names every row it skipped (or counts them and says where to see them).

const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const prefix = `${redisPrefix}-clireplay`;
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const conn = createQueueConnection({ kind: 'redis', url: redisUrl }, prefix);
let tenant: { id: string; slug: string };

beforeAll(async () => {
  process.env.DATABASE_URL = databaseUrl;
  process.env.REDIS_URL = redisUrl;
  process.env.QUEUE_PREFIX = prefix;
  const slug = `replay-${randomBytes(4).toString('hex')}`;
  const [row] = await admin.sql<{ id: string }[]>`insert into tenants (slug, name) values (${slug}, 'Replay Tenant') returning id`;
  tenant = { id: row!.id, slug };
});

afterAll(async () => {
  const q = new Queue(webhookQueueName(tenant.id), { connection: conn.connection, prefix });
  await q.obliterate({ force: true });
  await q.close();
  await conn.close();
  await admin.close();
});

let seq = 0;
async function insertLogs(status: string, n: number, source = 'manychat'): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    seq += 1;
    const [r] = await admin.sql<{ id: number }[]>`
      insert into webhook_logs (tenant_id, source, event_type, dedupe_key, payload, status, error_message, received_at)
      values (${tenant.id}, ${source}, 'contact_created', ${`key_${seq}`}, ${admin.sql.json({ subscriber: { id: `mc_${seq}` } })},
              ${status}, ${status === 'rejected' ? 'invalid_signature: invalid_signature' : 'boom'}, ${new Date(Date.now() - 600_000 + seq * 10)})
      returning id`;
    ids.push(r!.id);
  }
  return ids;
}

const statuses = (ids: number[]) =>
  admin.sql<{ id: number; status: string }[]>`select id, status from webhook_logs where id = any(${ids}::bigint[]) order by id`.then(
    (rows) => rows.map((r) => r.status),
  );

async function jobCount(): Promise<number> {
  const q = new Queue(webhookQueueName(tenant.id), { connection: conn.connection, prefix });
  try {
    return Object.values(await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed')).reduce((a, b) => a + b, 0);
  } finally {
    await q.close();
  }
}

describe('mcb replay never processes rejected rows', () => {
  it('--status rejected: shows them, replays none, enqueues nothing', async () => {
    const rejected = await insertLogs('rejected', 3);
    const dry = await mcb('replay', '--tenant', tenant.slug, '--status', 'rejected', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('0 log(s) would be replayed (dry run: nothing enqueued).');
    expect(dry.stdout).toContain(
      `3 rejected log(s) match: they were refused at intake (authentication or an invalid body) and are never replayed (see them with mcb logs ${tenant.slug} --status rejected)`,
    );
    const run = await mcb('replay', '--tenant', tenant.slug, '--status', 'rejected', '--yes');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('No log to replay (3 matched).');
    expect(await statuses(rejected)).toEqual(['rejected', 'rejected', 'rejected']);
    const byId = await mcb('replay', '--id', String(rejected[0]));
    // Nothing given by --id could be replayed: exit 1 (a new operator read exit 0 as done).
    expect(byId.code).toBe(1);
    expect(byId.stdout).toBe(
      `Log ${rejected[0]} is rejected: refused at intake (authentication or an invalid body), kept as evidence and never replayed (SPEC §3).\n`,
    );
    expect(await statuses(rejected)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await jobCount()).toBe(0);
  });

  it('a mixed filter replays the others and lists every skipped rejected row by id', async () => {
    const failed = await insertLogs('failed', 2, 'ghl');
    const rejected = await insertLogs('rejected', 4, 'ghl');
    const run = await mcb('replay', '--tenant', tenant.slug, '--source', 'ghl');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Replayed 2 of 6 log(s)');
    expect(run.stdout).toContain('Skipped 4 (4 rejected):');
    expect(run.stdout).toContain(`never replayed: ${rejected.map((id) => `#${id}`).join(' ')}\n`);
    expect(run.stdout).toContain(`See the rejected ones with: mcb logs ${tenant.slug} --status rejected --source ghl`);
    expect(await statuses(failed)).toEqual(['received', 'received']);
    expect(await statuses(rejected)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
  });

  it('past the list limit, the summary counts every skipped row and says where to see them', async () => {
    await insertLogs('rejected', 60, 'perspective');
    await insertLogs('failed', 1, 'perspective');
    const run = await mcb('replay', '--tenant', tenant.slug, '--source', 'perspective', '--since', '1h');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Replayed 1 of 61 log(s)');
    expect(run.stdout).toContain('Skipped 60 (60 rejected):');
    expect(run.stdout).toMatch(/never replayed: (#\d+ ){49}#\d+ and 10 more\n/);
    expect(run.stdout).toContain(`See the rejected ones with: mcb logs ${tenant.slug} --status rejected --source perspective --since 1h`);
  });
});

// A new operator's first day: `--id` of a rejected log said only "1 log id(s) given; dry run: nothing
// enqueued", and the replay itself replayed 0 and exited 0.
describe('mcb replay --id says what it will do with each id', () => {
  it('a rejected log: the dry run says it is rejected and never replayed, and both exit 1', async () => {
    const [rejected] = await insertLogs('rejected', 1, 'ghl');
    const dry = await mcb('replay', '--id', String(rejected), '--dry-run');
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain(
      `Log ${rejected} is rejected: refused at intake (authentication or an invalid body), kept as evidence and never replayed (SPEC §3).\n`,
    );
    expect(dry.stdout).toContain('0 log(s) would be replayed (dry run: nothing enqueued).\n');
    expect(dry.stderr).toBe('Nothing to replay: no log given by --id can be replayed\n');
    const run = await mcb('replay', '--id', String(rejected));
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('Nothing to replay: no log given by --id can be replayed\n');
    // Why, and nothing else: no "Replayed 0 of 0" before the failure (operator walk, stop 37).
    expect(run.stdout).toBe(
      `Log ${rejected} is rejected: refused at intake (authentication or an invalid body), kept as evidence and never replayed (SPEC §3).\n`,
    );
    expect(await statuses([rejected!])).toEqual(['rejected']);
  });

  it('a mix: names the rejected and unknown ids, replays the others, exits 0', async () => {
    const [failed] = await insertLogs('failed', 1, 'ghl');
    const [rejected] = await insertLogs('rejected', 1, 'ghl');
    const dry = await mcb('replay', '--id', String(failed), String(rejected), '999999999', '--dry-run');
    expect(dry).toMatchObject({ code: 0, stderr: '' });
    expect(dry.stdout).toContain(`Log ${rejected} is rejected:`);
    expect(dry.stdout).toContain('No webhook log 999999999.\n');
    expect(dry.stdout).toContain('1 log(s) would be replayed (dry run: nothing enqueued).\n');
    expect(await statuses([failed!])).toEqual(['failed']);
    const unknown = await mcb('replay', '--id', '999999999');
    expect(unknown).toMatchObject({ code: 1, stderr: 'Nothing to replay: no log given by --id can be replayed\n' });
    expect(unknown.stdout).toBe('No webhook log 999999999.\n');
  });
});

describe('bulk replay asks first', () => {
  it('more than 10 logs off a terminal: refused without --yes, nothing changed; --yes replays them', async () => {
    const failed = await insertLogs('failed', 11, 'stripe');
    const before = await jobCount();
    const refused = await mcb('replay', '--tenant', tenant.slug, '--source', 'stripe', '--status', 'failed');
    expect(refused).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'Refusing to replay 11 logs without confirmation: check them with --dry-run, then add --yes (more than 10 logs need it)\n',
    });
    expect(new Set(await statuses(failed))).toEqual(new Set(['failed']));
    expect(await jobCount()).toBe(before);
    const ids = await mcb('replay', '--id', ...failed.map(String));
    expect(ids.code).toBe(1);
    expect(ids.stderr).toMatch(/^Refusing to replay 11 logs without confirmation/);

    const ok = await mcb('replay', '--tenant', tenant.slug, '--source', 'stripe', '--status', 'failed', '--yes');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^Replayed 11 of 11 log\(s\) in \d+\.\d s\.\n$/);
    expect(new Set(await statuses(failed))).toEqual(new Set(['received']));
    expect(await jobCount()).toBe(before + 11);
  });

  it('up to 10 logs replay without asking', async () => {
    const failed = await insertLogs('failed', 10, 'denefits');
    const run = await mcb('replay', '--tenant', tenant.slug, '--source', 'denefits', '--status', 'failed');
    expect(run.code).toBe(0);
    expect(new Set(await statuses(failed))).toEqual(new Set(['received']));
  });
});
