import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookEnqueuer } from '@mcb/queue';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness';

// A new operator read `mcb log 20`: "attempts 5" beside "(attempt 4, will retry)". The error's number
// was BullMQ's count for the job now running (reset by a replay, not moved by a stall), the column the
// log's own count of runs. The message now names the log's count, and the log says when it runs again.

let h: Harness;
let manychat: Server;
beforeAll(async () => {
  manychat = createServer((_req, res) => void res.writeHead(500, { 'content-type': 'application/json' }).end('{"status":"error"}'));
  await new Promise<void>((r) => manychat.listen(0, '127.0.0.1', r));
  h = await createHarness('retryno', { MANYCHAT_API_BASE_URL: `http://127.0.0.1:${(manychat.address() as AddressInfo).port}` });
});
afterAll(async () => {
  await h?.close();
  await new Promise<void>((r) => manychat?.close(() => r()));
});

it('a failure that will retry names the attempt the log shows, and records when the retry is due', async () => {
  const t = await h.makeTenant({}, { manychat: { api_key: 'k-retry' } });
  const enqueuer = new WebhookEnqueuer(h.conn, 3);
  // A log that ran three times before (failed, then replayed by hand: the job's own count starts again).
  const id = await h.store(t.id, 'manychat', { subscriber_id: 'down', event_type: 'contact_created' });
  await h.owner.sql`update webhook_logs set attempts = 3 where id = ${id}`;
  await h.startWorker();
  await enqueuer.enqueue([{ tenantId: t.id, logId: id }]);
  const end = Date.now() + 30_000;
  for (;;) {
    const [row] = await h.owner.sql<{ attempts: number; status: string; error_message: string | null; retry_at: Date | null }[]>`
      select attempts, status, error_message, retry_at from webhook_logs where id = ${id}`;
    if (row?.status === 'failed' && row.error_message?.includes('will retry')) {
      expect(row.attempts).toBeGreaterThanOrEqual(4);
      expect(row.error_message.endsWith(`(attempt ${row.attempts}, will retry)`), row.error_message).toBe(true);
      expect(row.retry_at?.getTime()).toBeGreaterThan(Date.now() - 5_000);
      break;
    }
    if (Date.now() > end) throw new Error(`never failed with a retry: ${JSON.stringify(row)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await enqueuer.close();
});
