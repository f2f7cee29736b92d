import { MissingCredentials } from '@mcb/core';
import { ManyChatError } from '@mcb/manychat';
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { isRetryable, PermanentJobError, toJobError } from './errors';

describe('error classification', () => {
  it('retries transient failures', () => {
    expect(isRetryable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('deadlock'), { code: '40P01' }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('too many clients'), { code: '53300' }))).toBe(true);
    expect(isRetryable(new ManyChatError('HTTP 503', 503, true))).toBe(true);
    expect(isRetryable(new Error('anything else'))).toBe(true);
  });

  it('fails permanent ones at once', () => {
    expect(isRetryable(new PermanentJobError('invalid payload'))).toBe(false);
    expect(isRetryable(new MissingCredentials('acme', 'manychat'))).toBe(false);
    expect(isRetryable(new ManyChatError('HTTP 401', 401, false))).toBe(false);
    expect(isRetryable(Object.assign(new Error('bad'), { code: '22P02' }))).toBe(false);
    expect(isRetryable(Object.assign(new Error('rls'), { code: '42501' }))).toBe(false);
    const e = toJobError(new PermanentJobError('invalid payload'));
    expect(e).toBeInstanceOf(UnrecoverableError);
    expect(e.message).toBe('invalid payload');
    expect(toJobError(new Error('x'))).not.toBeInstanceOf(UnrecoverableError);
  });
});
