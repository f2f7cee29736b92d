import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One HTTP request the fake Resend received. */
export interface FakeResendRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | null;
  /** Answer given: status and the email id (when accepted). */
  status: number;
  id: string | null;
}

export interface FakeResend {
  /** Base URL to pass to the `resend` SDK (`new Resend(key, { baseUrl })`). */
  url: string;
  /** Every request, in order (including rejected and replayed ones). */
  requests: FakeResendRequest[];
  /** Emails actually "delivered": one per new idempotency key (or per request without a key). */
  delivered: FakeResendRequest[];
  /** The next `count` POST /emails answer `status` (default 500) without delivering. */
  failNext(count: number, status?: number): void;
  close(): Promise<void>;
}

/**
 * A local stand-in for the Resend API (POST /emails) on port 0, for tests: checks the bearer key,
 * and honours `Idempotency-Key` like Resend (same key and body → the first answer again, nothing
 * delivered; same key, other body → 409 `invalid_idempotent_request`).
 * https://resend.com/docs/dashboard/emails/idempotency-keys
 */
export async function startFakeResend(options: { apiKey?: string } = {}): Promise<FakeResend> {
  const requests: FakeResendRequest[] = [];
  const delivered: FakeResendRequest[] = [];
  const byKey = new Map<string, { body: string; id: string }>();
  let failures: { count: number; status: number } = { count: 0, status: 500 };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> | null = null;
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
      } catch {
        body = null;
      }
      const record: FakeResendRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, status: 0, id: null };
      requests.push(record);
      const answer = (status: number, payload: unknown) => {
        record.status = status;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.method !== 'POST' || req.url !== '/emails') return answer(404, { name: 'not_found', message: 'Not found', statusCode: 404 });
      if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`)
        return answer(401, { name: 'validation_error', message: 'API key is invalid', statusCode: 401 });
      if (failures.count > 0) {
        failures = { ...failures, count: failures.count - 1 };
        return answer(failures.status, { name: 'application_error', message: 'fake failure', statusCode: failures.status });
      }
      if (!body || typeof body.from !== 'string' || !body.to || typeof body.subject !== 'string')
        return answer(422, { name: 'validation_error', message: 'from, to and subject are required', statusCode: 422 });
      const key = req.headers['idempotency-key'];
      if (typeof key === 'string') {
        const seen = byKey.get(key);
        if (seen && seen.body !== raw)
          return answer(409, {
            name: 'invalid_idempotent_request',
            message: 'Same idempotency key used with a different payload',
            statusCode: 409,
          });
        if (seen) {
          record.id = seen.id;
          return answer(200, { id: seen.id });
        }
      }
      const id = randomUUID();
      record.id = id;
      if (typeof key === 'string') byKey.set(key, { body: raw, id });
      delivered.push(record);
      return answer(200, { id });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    delivered,
    failNext(count, status = 500) {
      failures = { count, status };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
