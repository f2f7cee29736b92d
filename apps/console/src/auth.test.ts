import { describe, expect, it } from 'vitest';
import { safeNext, tokenMatches, tryAgainIn } from './auth';

describe('tokenMatches', () => {
  it('matches only the exact token, whatever the lengths', () => {
    const token = 'a-very-long-admin-token-0123456789';
    expect(tokenMatches(token, token)).toBe(true);
    expect(tokenMatches(`${token}x`, token)).toBe(false);
    expect(tokenMatches(token.slice(0, -1), token)).toBe(false);
    expect(tokenMatches('', token)).toBe(false);
  });
});

describe('safeNext', () => {
  it.each([
    ['/admin/queues', '/admin/queues'],
    ['/admin/logs?status=failed&tenant=ppcu', '/admin/logs?status=failed&tenant=ppcu'],
    ['//evil.example/admin', '/admin/logs'],
    ['https://evil.example/admin', '/admin/logs'],
    ['/login', '/admin/logs'],
    ['/admin/../login', '/admin/logs'],
    [undefined, '/admin/logs'],
  ])('%s → %s', (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });
});

describe('tryAgainIn', () => {
  it('says the wait in seconds under a minute, else in whole minutes rounded up', () => {
    expect(tryAgainIn(1)).toBe('try again in 1 second');
    expect(tryAgainIn(59)).toBe('try again in 59 seconds');
    expect(tryAgainIn(60)).toBe('try again in 1 minute');
    expect(tryAgainIn(61)).toBe('try again in 2 minutes');
    expect(tryAgainIn(600)).toBe('try again in 10 minutes');
  });
});
