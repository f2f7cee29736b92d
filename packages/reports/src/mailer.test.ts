import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createResendMailer, MailerError } from './mailer';

let server: Server | null = null;
afterEach(
  () =>
    new Promise<void>((resolve) => {
      server?.closeAllConnections();
      server ? server.close(() => resolve()) : resolve();
      server = null;
    }),
);

const email = {
  from: 'MCB <r@example.com>',
  to: ['owner@example.com'],
  subject: 'Acme weekly',
  html: '<p>hi</p>',
  text: 'hi',
  idempotencyKey: 'weekly-report/t/2026-11-30',
  outboxName: 't/2026-11-30',
};

describe('createResendMailer', () => {
  // Faults walk, stop 37: a Resend that accepted the connection and never answered held the report job and
  // `mcb report send` forever.
  it('a Resend that never answers fails the send within its timeout, retryable', async () => {
    server = createServer(() => {
      // Reads the request and never answers.
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const mailer = createResendMailer({
      apiKey: 're_test_key',
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      timeoutMs: 300,
    });
    const failure = await mailer.send(email).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(MailerError);
    expect(failure).toMatchObject({ retryable: true, statusCode: null });
    expect((failure as Error).message).toBe('Resend: no answer within 300 ms');
  });

  // A worker shutting down aborts the send in flight, so its job is released rather than left to stall.
  it('a send in flight is aborted by its signal (the worker shutting down), retryable', async () => {
    server = createServer(() => {
      // Never answers.
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const mailer = createResendMailer({ apiKey: 're_test_key', baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const shutdown = new AbortController();
    setTimeout(() => shutdown.abort(new Error('shutdown')), 100);
    const failure = await mailer.send(email, { signal: shutdown.signal }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(MailerError);
    expect(failure).toMatchObject({ retryable: true, statusCode: null });
    expect((failure as Error).message).toBe('Resend: send aborted (shutting down)');
  });
});
