import { parseKeyring, setIntegration } from '@mcb/tenancy';
import { pollUntil } from '@mcb/testing';
import { type FakeGraph, startFakeGraph } from '@mcb/testing/fake-graph';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tenantQueue } from '../src/processors/capi/tick';
import { createHarness, type Harness, testEncryptionKey } from './harness';

// A tenant whose Meta dataset never answers: its capi.send jobs must not pile up beside each other
// (each holds one of the process's webhook slots), and each must end at its time bound. A tick every
// second; send jobs have one id per window, so a send bounded at 8 s outlives eight windows (as a 2 min
// bound outlives two 1 min windows in production) — the ticks of the next windows must not add a second one.

const keyring = parseKeyring(testEncryptionKey);
let fake: FakeGraph;
let h: Harness;
let seq = 0;

beforeAll(async () => {
  fake = await startFakeGraph({ accounts: [] });
  h = await createHarness('capioverlap', { META_GRAPH_URL: fake.url, CAPI_TICK_EVERY_MS: '1000', CAPI_SEND_MAX_MS: '8000' });
});

afterAll(async () => {
  await h?.close().catch(() => {});
  await fake?.close();
});

async function capiTenant() {
  const t = await h.makeTenant();
  seq++;
  const datasetId = `55${Date.now() % 1_000_000}${seq}`;
  const token = `EAAoverlap${seq}${Date.now()}`;
  await setIntegration(h.admin, keyring, {
    slug: t.slug,
    provider: 'meta_capi',
    credentials: { dataset_id: datasetId, access_token: token },
  });
  fake.addDataset(datasetId, token);
  return { ...t, datasetId };
}

const lead = (tag: string, i: number) => ({
  subscriber: { id: `${tag}-${i}`, email: `${tag}${i}@example.com` },
  event_type: 'contact_created',
});

it('a tenant whose Meta dataset hangs has at most one capi.send at a time, each ends at its bound; others still send', async () => {
  const rt = await h.startWorker();
  const hung = await capiTenant();
  const good = await capiTenant();
  rt.deps.tenants.invalidate();
  fake.failWhen((r) => r.dataset === hung.datasetId, { kind: 'slow', ms: 10 * 60_000 }, 1e9);
  await h.waitForLogs([await h.deliver(hung.id, 'manychat', lead('hung', 0)), await h.deliver(good.id, 'manychat', lead('good', 0))]);

  const queue = tenantQueue(h.conn, hung.id);
  let mostAtOnce = 0;
  let samples = 0;
  /** capi.send jobs of the hung tenant that are not finished, and those that finished at their bound. */
  const sample = async () => {
    const open = (await queue.getJobs(['active', 'waiting', 'delayed', 'prioritized'])).filter((j) => j.name === 'capi.send');
    mostAtOnce = Math.max(mostAtOnce, open.length);
    samples++;
    const bounded = (await queue.getJobs(['completed'])).filter((j) => j.name === 'capi.send' && j.returnvalue?.timedOut === true);
    return bounded.length;
  };
  // Until the hung send ended at its bound (the ticks of a new window meanwhile tried to add another),
  // or two were open at once.
  await pollUntil(sample, (n) => n >= 1 || mostAtOnce >= 2, { timeoutMs: 60_000, intervalMs: 250 });
  expect(samples).toBeGreaterThan(3);
  expect(mostAtOnce).toBe(1);
  expect(await sample()).toBeGreaterThanOrEqual(1);
  // No two sends ran at the same time: a send added beside the hung one finds nothing unclaimed and ends
  // at once, so a sample rarely sees both open; their run times show it.
  const runs = (await queue.getJobs(['active', 'completed']))
    .filter((j) => j.name === 'capi.send' && j.processedOn !== undefined)
    .map((j) => ({ id: j.id, from: j.processedOn as number, to: j.finishedOn ?? Number.POSITIVE_INFINITY }))
    .sort((a, b) => a.from - b.from);
  expect(runs.length).toBeGreaterThanOrEqual(1);
  for (const [i, run] of runs.entries())
    if (i > 0)
      expect(run.from, `${run.id} started while ${runs[i - 1]?.id} ran`).toBeGreaterThanOrEqual((runs[i - 1] as { to: number }).to);
  // Meta saw the hung tenant's event (the posts hung), never received it; the other tenant's was sent.
  expect(fake.capiEvents(hung.datasetId)).toHaveLength(0);
  await pollUntil(
    async () => fake.capiEvents(good.datasetId).length,
    (n) => n >= 1,
    { timeoutMs: 30_000 },
  );
  expect(fake.capiEvents(good.datasetId).map((e) => e.event.event_name)).toEqual(['Lead']);
  const [row] = await h.admin.sql<{ status: string; claimed_at: Date | null }[]>`
    select status, claimed_at from capi_sends where tenant_id = ${hung.id}`;
  // Released at each bound (or held by the send running now): pending, never sent nor lost.
  expect(row?.status).toBe('pending');
}, 120_000);
