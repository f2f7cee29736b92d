import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { type Logger, redactPaths } from '@mcb/core';
import { createDatabase, type Database } from '@mcb/db';
import { createQueueConnection, type QueueConnection, WebhookEnqueuer } from '@mcb/queue';
import type { GhlPublicKeys } from '@mcb/sources';
import { addTenant, createTenantContextLoader, generateKey, type Keyring, parseKeyring, setIntegration } from '@mcb/tenancy';
import { pollUntil, testEnv } from '@mcb/testing';
import pino from 'pino';
import { createReceiver, type Receiver, type ReceiverDeps } from '../src/app';

/** Log lines captured from the receiver's logger (JSON), to check what reaches the logs. */
export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: pino({ level: 'debug', redact: { paths: redactPaths, censor: '[redacted]' } }, stream) as unknown as Logger, lines };
}

export interface Harness {
  admin: Database;
  app: Database;
  keyring: Keyring;
  queue: QueueConnection;
  /** A live enqueuer on the test's Redis prefix, for counting jobs. */
  jobs: WebhookEnqueuer;
  prefix: string;
  close: () => Promise<void>;
}

/** Databases (admin + app role), a keyring and a Redis queue connection with a unique prefix. */
export function createHarness(label: string): Harness {
  const env = testEnv();
  const admin = createDatabase({ url: env.databaseUrl, role: 'admin', max: 3 });
  const app = createDatabase({ url: env.databaseUrl, role: 'app', max: 6 });
  const keyring = parseKeyring(generateKey());
  const prefix = `${env.redisPrefix}-${label}`;
  const queue = createQueueConnection({ kind: 'redis', url: env.redisUrl }, prefix);
  const jobs = new WebhookEnqueuer(queue);
  return {
    admin,
    app,
    keyring,
    queue,
    jobs,
    prefix,
    close: async () => {
      await jobs.close();
      await queue.close();
      await Promise.all([admin.close(), app.close()]);
    },
  };
}

let counter = 0;
/** A unique slug for this test run. */
export function uniqueSlug(prefix = 't'): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}-${randomUUID().slice(0, 4)}`.slice(0, 40);
}

/**
 * Creates an active tenant with the given integrations (secret per provider). `null` = an active
 * integration without a secret, which `setIntegration` refuses to make: one stored before it did, made
 * here by clearing the secret in SQL — the receiver still has to answer it (401 missing_credentials).
 */
export async function makeTenant(
  h: Harness,
  integrations: Partial<Record<'stripe' | 'ghl' | 'manychat' | 'denefits' | 'perspective', string | null>>,
  opts: { isActive?: boolean } = {},
): Promise<{ id: string; slug: string }> {
  const slug = uniqueSlug();
  const t = await addTenant(h.admin, { slug, name: `Tenant ${slug}`, isActive: opts.isActive ?? true });
  for (const [provider, secret] of Object.entries(integrations)) {
    await setIntegration(h.admin, h.keyring, { slug, provider, webhookSecret: secret ?? `whsec_cleared_${randomUUID()}` });
    if (secret === null)
      await h.admin.sql`update tenant_integrations set webhook_secret = null where tenant_id = ${t.id} and provider = ${provider}`;
  }
  return { id: t.id, slug };
}

/**
 * A receiver on the harness (own metrics, silent or captured logs). Its database waits are bounded at
 * 20 s, not the 1.5 s production deadline, unless a test sets `dbTimeoutMs`: on a loaded CI machine that
 * deadline turned deliveries into 503s (and rejected deliveries into rows never stored) in tests that
 * are not about it (outage.int.test.ts is, with its own receiver).
 */
export function makeReceiver(
  h: Harness,
  overrides: Partial<ReceiverDeps> & { ghlPublicKeys?: GhlPublicKeys } = {},
): Receiver & { tenants: ReturnType<typeof createTenantContextLoader> } {
  const tenants = createTenantContextLoader({ admin: h.admin, keyring: h.keyring, listen: false, ttlMs: 0 });
  const receiver = createReceiver({
    database: h.app,
    queue: h.queue,
    log: pino({ level: 'silent' }) as unknown as Logger,
    tenants,
    enqueuer: h.jobs,
    dbTimeoutMs: 20_000,
    ...overrides,
  });
  return Object.assign(receiver, { tenants });
}

/** Jobs in one tenant's webhook queue (any state). */
export async function countJobs(jobs: WebhookEnqueuer, tenantId: string): Promise<number> {
  const counts = await jobs.queueFor(tenantId).getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** webhook_logs rows of one tenant (admin path, test only); `raw_body` as UTF-8 text, `raw_bytes` exact. */
export async function logsOf(h: Harness, tenantId: string) {
  const rows = await h.admin.sql<
    {
      id: number;
      source: string;
      status: string;
      dedupe_key: string;
      event_type: string | null;
      headers: Record<string, string>;
      payload: unknown;
      raw_bytes: Buffer | null;
      error_message: string | null;
      enqueued_at: Date | null;
    }[]
  >`select id, source, status, dedupe_key, event_type, headers, payload, raw_body as raw_bytes, error_message, enqueued_at
    from webhook_logs where tenant_id = ${tenantId} order by id`;
  return rows.map((r) => ({ ...r, raw_body: r.raw_bytes === null ? null : r.raw_bytes.toString('utf8') }));
}

/** Polls `fn` until it returns true (or fails after `ms`). */
export async function eventually(fn: () => Promise<boolean>, ms = 5_000): Promise<void> {
  if (!(await pollUntil(fn, (ok) => ok, { timeoutMs: ms, intervalMs: 25 }))) throw new Error('condition not met in time');
}
