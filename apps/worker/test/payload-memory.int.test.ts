import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness, spawnWorkerProcess } from './harness';

// SPEC §10.8: bad input of any shape never crashes a worker. Measured on landed main: 220 accepted GHL
// bodies of 1 MiB made of `{}` items (22 MB each once parsed) took a worker past 4 GB and killed it,
// stranding another tenant's events. The receiver now stores such bodies raw (more than 10,000 objects
// and arrays), but rows stored before it did, or anything else heavy, meet the worker's own bound: it
// holds payloads within WORKER_PAYLOAD_MEMORY_MB (budget.ts). Here: 40 such rows stored as an older
// receiver stored them (their jobs carry no size: the worker looks it up), a worker process with a
// 256 MB heap (≈ 0.9 GB parsed at once before), and a second tenant's events arriving meanwhile.

let h: Harness;
let child: ChildProcess | undefined;
beforeAll(async () => {
  h = await createHarness('paymem', { WORKER_PAYLOAD_MEMORY_MB: '64' });
});
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await h?.close();
});

const junk = `[${'{},'.repeat(340_000)}{}]`;

it("one tenant's heaviest stored bodies neither kill the worker nor strand another tenant's events", async () => {
  const heavy = await h.makeTenant();
  const quiet = await h.makeTenant();
  const heavyIds: number[] = [];
  for (let i = 0; i < 40; i++) {
    // Each body differs (its dedupe key is its hash) and is under the receiver's 1 MiB limit.
    heavyIds.push(await h.deliverStored(heavy.id, 'ghl', JSON.parse(`{"contact_id":"heavy-${i}","junk":${junk}}`)));
  }
  const quietIds = [
    await h.deliver(quiet.id, 'manychat', { subscriber: { id: 'q-0', email: 'q0@example.com' }, event_type: 'contact_created' }),
  ];

  const worker = spawnWorkerProcess(h, { NODE_OPTIONS: '--max-old-space-size=256' });
  child = worker.child;
  let died: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  void worker.exited.then((e) => {
    died = e;
  });
  let peakRssMb = 0;
  const sampler = setInterval(() => {
    if (died) return;
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${worker.child.pid}/status`, 'utf8'));
      if (m) peakRssMb = Math.max(peakRssMb, Number(m[1]) / 1024);
    } catch {
      // Gone between the check and the read: `died` says so.
    }
  }, 100);
  try {
    await worker.ready;
    // The quiet tenant keeps sending while the heavy backlog drains.
    for (let i = 1; i <= 5; i++) {
      quietIds.push(
        await h.deliver(quiet.id, 'manychat', { subscriber: { id: `q-${i}`, email: `q${i}@example.com` }, event_type: 'contact_created' }),
      );
      await new Promise((r) => setTimeout(r, 200));
    }
    const alive = () => expect(died, `worker process died: ${JSON.stringify(died)}`).toBeNull();
    const quietRows = await h.waitForLogs(quietIds, 90_000).finally(alive);
    expect(quietRows.map((r) => r.status)).toEqual(quietIds.map(() => 'processed'));
    const heavyRows = await h.waitForLogs(heavyIds, 120_000).finally(alive);
    expect(heavyRows.map((r) => r.status)).toEqual(heavyIds.map(() => 'processed'));
    alive();
    const [lat] = await h.owner.sql<{ max_ms: number }[]>`
      select max(extract(epoch from processed_at - received_at) * 1000)::int as max_ms from webhook_logs where id = any(${quietIds}::int8[])`;
    process.stdout.write(
      `payload budget: 40 × ${(junk.length / 1e6).toFixed(2)} MB bodies processed, worker alive, peak RSS ${Math.round(peakRssMb)} MB, quiet tenant's slowest event ${lat?.max_ms} ms\n`,
    );
  } finally {
    clearInterval(sampler);
  }
}, 240_000);
