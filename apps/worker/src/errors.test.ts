import { InvalidConfig, McbError, MissingCredentials, TimeoutError, UnknownTenant } from '@mcb/core';
import { ManyChatError } from '@mcb/manychat';
import { MetaBadResponse, MetaRateLimited, MetaRequestError, MetaSyncBudgetSpent, MetaTokenExpired, MetaTransientError } from '@mcb/meta';
import { MailerError } from '@mcb/reports';
import { DelayedError, UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { classifyJobError, isRetryable, PermanentJobError, toJobError } from './errors';

const pg = (code: string, message = code) => Object.assign(new Error(message), { code });
const usage = { maxPct: 100, regainAccessMs: 0 };

describe('classifyJobError: one decision for every job type', () => {
  it('retries transient failures: network, timeouts, shutdown aborts, Postgres unavailable, deadlocks, unique races, unknown errors', () => {
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      new TimeoutError('tenant lookup', 1_000),
      new DOMException('This operation was aborted', 'AbortError'),
      pg('40P01', 'deadlock'),
      pg('40001', 'serialization failure'),
      pg('53300', 'too many clients'),
      pg('57P01', 'admin shutdown'),
      pg('08006', 'connection failure'),
      pg('23505', 'duplicate key'),
      new Error('anything else'),
      'a string thrown',
    ])
      expect(classifyJobError(err), String(err)).toMatchObject({ kind: 'retry' });
  });

  it('fails at once what retrying cannot fix: permanent errors, bad data, permissions, bad config', () => {
    for (const err of [
      new PermanentJobError('invalid payload'),
      new UnrecoverableError('already final'),
      new MissingCredentials('acme', 'manychat'),
      new UnknownTenant('gone'),
      new InvalidConfig('timezone: invalid'),
      new McbError('bad_request', 'bad'),
      pg('22P02', 'invalid input syntax'),
      pg('23503', 'foreign key'),
      pg('42501', 'rls'),
      // Red team, stop 34: a signed event with a 6 KB subscriber id was retried 8 times over 130 s.
      pg('54000', 'index row size 6032 exceeds btree version 4 maximum 2704 for index "contact_identities_pkey"'),
      pg('54001', 'stack depth limit exceeded'),
    ])
      expect(classifyJobError(err), (err as Error).message).toEqual({ kind: 'final', message: (err as Error).message });
    expect(classifyJobError(new McbError('unavailable', 'db down')).kind).toBe('retry');
  });

  it('webhook.process (ManyChat): 5xx/429/timeouts retried, 4xx final', () => {
    expect(classifyJobError(new ManyChatError('HTTP 503', 503, true)).kind).toBe('retry');
    expect(classifyJobError(new ManyChatError('HTTP 429', 429, true, 2_000)).kind).toBe('retry');
    expect(classifyJobError(new ManyChatError('timed out', null, true)).kind).toBe('retry');
    expect(classifyJobError(new ManyChatError('HTTP 401', 401, false)).kind).toBe('final');
  });

  it('meta.sync and capi.send (Graph): rate limit delayed for the announced wait, 190 and refusals final, 5xx retried', () => {
    expect(classifyJobError(new MetaRateLimited('throttled', { status: 400, code: 80004, waitMs: 7_000, usage }))).toEqual({
      kind: 'delay',
      message: 'throttled',
      waitMs: 7_000,
    });
    expect(classifyJobError(new MetaTokenExpired('expired', { status: 400, code: 190 })).kind).toBe('final');
    expect(classifyJobError(new MetaRequestError('unknown dataset', { status: 400, code: 100, subcode: 33 })).kind).toBe('final');
    expect(classifyJobError(new MetaTransientError('Meta Graph 502', { status: 502 })).kind).toBe('retry');
    // A sync's time budget spent: delayed (slot freed, checkpoint kept), never failed; a refused answer is final.
    expect(classifyJobError(new MetaSyncBudgetSpent('budget', { waitMs: 5_000 }))).toEqual({
      kind: 'delay',
      message: 'budget',
      waitMs: 5_000,
    });
    expect(classifyJobError(new MetaBadResponse('too large', { status: 200, reason: 'too_large' })).kind).toBe('final');
  });

  it('report.weekly (Resend): a refused send final, a 429/5xx/no answer retried', () => {
    expect(classifyJobError(new MailerError('Resend: validation_error', false, 422)).kind).toBe('final');
    expect(classifyJobError(new MailerError('Resend: rate_limit_exceeded', true, 429)).kind).toBe('retry');
    expect(classifyJobError(new MailerError('Resend: no response', true, null)).kind).toBe('retry');
  });
});

describe('isRetryable / toJobError', () => {
  it('isRetryable is every kind but final', () => {
    expect(isRetryable(new ManyChatError('HTTP 503', 503, true))).toBe(true);
    expect(isRetryable(new MetaRateLimited('throttled', { status: 429, waitMs: 1, usage }))).toBe(true);
    expect(isRetryable(new PermanentJobError('invalid payload'))).toBe(false);
    expect(isRetryable(pg('42501'))).toBe(false);
  });

  it('turns a final failure into UnrecoverableError with its message and passes the rest through', () => {
    const e = toJobError(new PermanentJobError('invalid payload'));
    expect(e).toBeInstanceOf(UnrecoverableError);
    expect(e.message).toBe('invalid payload');
    const transient = new Error('x');
    expect(toJobError(transient)).toBe(transient);
    const delayed = new DelayedError();
    expect(toJobError(delayed)).toBe(delayed);
    const unrecoverable = new UnrecoverableError('done');
    expect(toJobError(unrecoverable)).toBe(unrecoverable);
    expect(toJobError('thrown string')).toBeInstanceOf(Error);
  });
});
