import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createDatabase } from '@mcb/db';
import { addTenant, parseKeyring, setIntegration } from '@mcb/tenancy';
import { testEnv } from '@mcb/testing';
import type { Metafile } from 'esbuild';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apps, buildApp } from './build';
import { exited, freePort, until, untilAnswers } from './processes';

// Issue 14: OpenTelemetry traces across receiver → queue → worker when OTEL_EXPORTER_OTLP_ENDPOINT is
// set, and nothing at all when it is not. The compiled apps run as processes against a local OTLP/HTTP
// collector (the exporter sends JSON); a module-load hook records every file each process loads.
const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const encryptionKey = randomBytes(32).toString('base64');
const stripeSecret = 'whsec_tracing_test_secret';
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const outRoot = mkdtempSync(join(tmpdir(), 'mcb-trace-'));
const metafiles = new Map<string, Metafile>();
const running: ChildProcess[] = [];
let tenant: { id: string; slug: string };

// The collector: every OTLP/HTTP request, decoded.
interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: OtlpValue }>;
  status?: { code?: number };
}
interface OtlpRequest {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: OtlpValue }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}
const received: Array<{ path: string; contentType: string; body: OtlpRequest }> = [];
let collector: Server;
let collectorUrl: string;

const plain = (v: OtlpValue) => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));

/** Every exported span, flattened, with its service name and attributes as plain values. */
type Span = ReturnType<typeof spans>[number];
function spans() {
  return received.flatMap(({ body }) =>
    body.resourceSpans.flatMap((rs) => {
      const service = plain(rs.resource.attributes.find((a) => a.key === 'service.name')?.value ?? {});
      return rs.scopeSpans.flatMap((ss) =>
        ss.spans.map((s) => ({ ...s, service, attrs: Object.fromEntries(s.attributes.map((a) => [a.key, plain(a.value)])) })),
      );
    }),
  );
}

// Records the URL of every module a process loads (ES module loader hooks, off the main thread).
const hooksFile = join(outRoot, 'load-hooks.mjs');
const preloadFile = join(outRoot, 'load-log.mjs');
writeFileSync(
  hooksFile,
  `import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function load(url, context, next) { appendFileSync(file, url + '\\n'); return next(url, context); }
`,
);
writeFileSync(
  preloadFile,
  `import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(hooksFile).href)}, { data: { file: process.env.MCB_LOAD_LOG } });
`,
);

function start(app: 'receiver' | 'worker', port: number, run: string, env: Record<string, string>) {
  const loadLog = join(outRoot, `${run}-${app}.loaded`);
  writeFileSync(loadLog, '');
  const child = spawn(process.execPath, ['--import', pathToFileURL(preloadFile).href, join(outRoot, 'apps', app, 'dist', 'main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      // Each run has its own queues: a worker of one run never takes the other run's job.
      QUEUE_PREFIX: `${redisPrefix}-trace-${run}`,
      MCB_ENCRYPTION_KEY: encryptionKey,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      [app === 'receiver' ? 'PORT' : 'WORKER_HEALTH_PORT']: String(port),
      // The receiver's /metrics listener: any free port, so runs side by side do not collide on 3003.
      METRICS_PORT: '0',
      WORKER_TENANT_REFRESH_MS: '500',
      // Its reconciler would walk the whole shared database and run other test files' rows.
      RECONCILE_INTERVAL_MS: '3600000',
      REPORT_OUTBOX_DIR: join(outRoot, 'outbox'),
      MCB_LOAD_LOG: loadLog,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  running.push(child);
  return { child, port, loaded: () => readFileSync(loadLog, 'utf8').split('\n').filter(Boolean) };
}

async function stop(child: ChildProcess) {
  const gone = exited(child);
  child.kill('SIGTERM');
  return gone;
}

/** Starts a receiver and a worker, sends one signed Stripe webhook, waits until its log is processed. */
async function deliverOne(run: string, env: Record<string, string>) {
  const receiver = start('receiver', await freePort(), run, env);
  const worker = start('worker', await freePort(), run, env);
  await Promise.all([receiver, worker].map((p) => untilAnswers(`http://127.0.0.1:${p.port}/readyz`, 60_000)));
  const eventId = `evt_trace_${run}_${randomBytes(4).toString('hex')}`;
  const body = JSON.stringify({
    id: eventId,
    object: 'event',
    type: 'checkout.session.completed',
    created: Math.floor(Date.now() / 1000),
    data: {
      object: {
        id: `cs_trace_${run}`,
        object: 'checkout.session',
        mode: 'payment',
        amount_total: 99_00,
        currency: 'usd',
        payment_status: 'paid',
        status: 'complete',
        customer_details: { email: `trace.${run}@example.com`, name: 'Trace Buyer' },
        created: Math.floor(Date.now() / 1000),
      },
    },
  });
  const signature = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: stripeSecret });
  const res = await fetch(`http://127.0.0.1:${receiver.port}/api/webhooks/${tenant.slug}/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    body,
  });
  expect(res.status).toBe(200);
  const { id } = (await res.json()) as { id: number };
  await until(
    async () => {
      const [row] = await admin.sql<{ status: string }[]>`select status from webhook_logs where id = ${id}`;
      return row?.status === 'processed' ? true : undefined;
    },
    60_000,
    `log ${id} to be processed`,
  );
  return { receiver, worker, logId: id, body, signature, eventId };
}

/**
 * Output files of an app holding OpenTelemetry SDK or bullmq-otel code. The API alone
 * (`@opentelemetry/api`, a no-op until an SDK registers) is not counted: prom-client requires it.
 */
function otelOutputs(app: string): string[] {
  const { outputs } = metafiles.get(app)!;
  return Object.entries(outputs)
    .filter(
      ([file, out]) =>
        file.endsWith('.js') && Object.keys(out.inputs).some((i) => /node_modules\/(@opentelemetry\/(?!api\/)|bullmq-otel\/)/.test(i)),
    )
    .map(([file]) => file.split('/').pop()!);
}

const loadedFrom = (loaded: string[], app: string) =>
  loaded.filter((url) => url.includes(`/apps/${app}/dist/`)).map((url) => url.split('/').pop()!);

beforeAll(async () => {
  for (const target of apps.filter((a) => a.app === 'receiver' || a.app === 'worker')) {
    metafiles.set(target.app, (await buildApp(target, outRoot)).metafile);
  }
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  const slug = `trace-${randomBytes(3).toString('hex')}`;
  const t = await addTenant(admin, { slug, name: 'Tracing' });
  await setIntegration(admin, parseKeyring(encryptionKey), { slug, provider: 'stripe', webhookSecret: stripeSecret });
  tenant = { id: t.id, slug };
}, 180_000);

afterAll(async () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await new Promise((resolve) => collector?.close(resolve));
  await admin.close();
  rmSync(outRoot, { recursive: true, force: true });
}, 60_000);

describe('OpenTelemetry traces (compiled receiver and worker processes)', () => {
  it('the OpenTelemetry SDK and bullmq-otel are in telemetry-sdk.js only, which main.js imports on demand', () => {
    for (const app of ['receiver', 'worker']) {
      expect(otelOutputs(app), app).toEqual(['telemetry-sdk.js']);
      const main = Object.entries(metafiles.get(app)!.outputs).find(([file]) => file.endsWith('/main.js'))![1];
      expect(
        main.imports.filter((i) => i.path.includes('telemetry-sdk')),
        app,
      ).toEqual([{ path: './telemetry-sdk.js', kind: 'dynamic-import', external: true }]);
    }
  });

  it('with OTEL_EXPORTER_OTLP_ENDPOINT set, the worker job span is in the receiver request span’s trace, under it', async () => {
    const run = await deliverOne('on', {
      OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
      // Export every 100 ms instead of every 5 s (a standard SDK variable).
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    // Walks up from the job span: webhook.process → BullMQ's consumer span → the enqueue → the request.
    const chainOf = (all: Span[], job: Span) => {
      const byId = new Map(all.filter((s) => s.traceId === job.traceId).map((s) => [s.spanId, s]));
      const chain = [job];
      for (let s = job; s.parentSpanId && byId.has(s.parentSpanId); ) {
        s = byId.get(s.parentSpanId)!;
        chain.push(s);
      }
      return chain;
    };
    // Each span is exported when it ends, in its process's next batch (BullMQ's consumer span ends after
    // webhook.process): wait until the request span, the job span and every link between them arrived.
    const find = () => {
      const all = spans();
      const request = all.find((s) => s.service === 'mcb-receiver' && s.kind === 2 && s.attrs['mcb.log_id'] === run.logId);
      const job = all.find((s) => s.service === 'mcb-worker' && s.name === 'webhook.process' && s.attrs['mcb.log_id'] === run.logId);
      if (!request || !job) return undefined;
      const chain = chainOf(all, job);
      return chain.at(-1)?.spanId === request.spanId ? { all, request, job, chain } : undefined;
    };
    const { all, request, job, chain } = await until(
      async () => find(),
      30_000,
      'the request span, the job span and the links between them to be exported',
    );

    expect(received.every((e) => e.path === '/v1/traces' && e.contentType.startsWith('application/json'))).toBe(true);
    expect(request.name).toBe('POST /api/webhooks/:tenant/:source');
    expect(request.attrs).toMatchObject({
      'mcb.tenant': tenant.slug,
      'mcb.tenant_id': tenant.id,
      'mcb.source': 'stripe',
      'mcb.outcome': 'accepted',
      'http.response.status_code': 200,
    });
    expect(job.attrs).toMatchObject({ 'mcb.tenant_id': tenant.id, 'mcb.outcome': 'processed', 'mcb.attempt': 1 });
    expect(job.traceId).toBe(request.traceId);

    expect(chain.at(-1)?.spanId).toBe(request.spanId);
    expect(chain.map((s) => `${s.service} ${s.name}`)).toEqual([
      'mcb-worker webhook.process',
      `mcb-worker process webhooks-${tenant.id}`,
      'mcb-receiver webhook.enqueue',
      'mcb-receiver POST /api/webhooks/:tenant/:source',
    ]);
    const apply = all.find((s) => s.name === 'webhook.apply' && s.parentSpanId === job.spanId);
    expect(apply?.attrs['mcb.status']).toBe('processed');

    // Never the body or the signature: no attribute of any span carries them or any part of them.
    const values = all.flatMap((s) => Object.values(s.attrs).map(String));
    expect(values.filter((v) => v.includes(run.signature.slice(-20)) || v.includes(run.eventId) || v.includes('Trace Buyer'))).toEqual([]);

    // The SDK file was loaded here (the hook sees it), and the last spans are flushed on SIGTERM.
    for (const [app, p] of [
      ['receiver', run.receiver],
      ['worker', run.worker],
    ] as const) {
      expect(loadedFrom(p.loaded(), app)).toContain('telemetry-sdk.js');
      expect(await stop(p.child)).toEqual({ code: 0, signal: null });
    }
  });

  it('with it unset, nothing is exported and no process loads the SDK', async () => {
    const before = received.length;
    const run = await deliverOne('off', {
      // A trap: an OpenTelemetry SDK started by anything else would export here.
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collectorUrl}/v1/traces`,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    await new Promise((r) => setTimeout(r, 1_000));
    for (const [app, p] of [
      ['receiver', run.receiver],
      ['worker', run.worker],
    ] as const) {
      const loaded = loadedFrom(p.loaded(), app);
      expect(loaded, app).toContain('main.js');
      expect(
        loaded.filter((file) => otelOutputs(app).includes(file)),
        app,
      ).toEqual([]);
      expect(await stop(p.child)).toEqual({ code: 0, signal: null });
    }
    expect(received.length).toBe(before);
  });
});
