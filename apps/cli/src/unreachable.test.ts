import { maskUrlPassword } from '@mcb/core';
import { describe, expect, it } from 'vitest';
import { describeRedisUnavailable, describeUnreachable, startHintFor } from './unreachable';

const refused = (port: number) =>
  Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), { code: 'ECONNREFUSED', address: '127.0.0.1', port });

describe('describeUnreachable', () => {
  const env = { DATABASE_URL: 'postgres://postgres:s3cret@127.0.0.1:54329/mcb', REDIS_URL: 'redis://127.0.0.1:6379' };

  it('names the database URL it tried (password masked) and how to start the system', () => {
    const line = describeUnreachable(refused(54329), env);
    expect(line).toBe(
      'Cannot reach the database at postgres://postgres:****@127.0.0.1:54329/mcb (connect ECONNREFUSED 127.0.0.1:54329). ' +
        'Start the system with `npm start` (then run `npm run mcb -- …`, which uses its database; if npm start was given MCB_DATA_DIR, give mcb the same), or set DATABASE_URL to a running Postgres.',
    );
    expect(line).not.toContain('s3cret');
  });

  it('tells a Redis refusal from a database one by the address', () => {
    expect(describeUnreachable(refused(6379), env)).toMatch(/^Cannot reach Redis at redis:\/\/127\.0\.0\.1:6379 \(connect ECONNREFUSED/);
  });

  it('covers unknown hosts and refused logins, and leaves other errors alone', () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND db.internal'), { code: 'ENOTFOUND', hostname: 'db.internal' });
    expect(describeUnreachable(notFound, { DATABASE_URL: 'postgres://u:p@db.internal/mcb' })).toMatch(
      /^Cannot reach the database at postgres:\/\/u:\*\*\*\*@db\.internal\/mcb \(getaddrinfo ENOTFOUND db\.internal\)\. Start the system with `npm start`/,
    );
    const badPassword = Object.assign(new Error('password authentication failed for user "u"'), { code: '28P01' });
    expect(describeUnreachable(badPassword, env)).toMatch(
      /^The database at postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1:54329\/mcb answered but the password was refused/,
    );
    expect(describeUnreachable(new Error('Unknown tenant: x'), env)).toBeNull();
    expect(describeUnreachable(Object.assign(new Error('duplicate key'), { code: '23505' }), env)).toBeNull();
  });

  it('names REDIS_URL (password masked) for a Redis the CLI could not use, whatever the reason', () => {
    expect(describeRedisUnavailable('connect ECONNREFUSED 10.0.0.5:6380', { REDIS_URL: 'redis://:s3cret@10.0.0.5:6380/2' })).toBe(
      'Cannot reach Redis at redis://:****@10.0.0.5:6380/2 (connect ECONNREFUSED 10.0.0.5:6380). ' +
        'Start the system with `npm start` (then run `npm run mcb -- …`, which uses its database; if npm start was given MCB_DATA_DIR, give mcb the same), or set REDIS_URL to a running Redis.',
    );
    expect(describeRedisUnavailable('x', {})).toMatch(/^Cannot reach Redis at redis:\/\/127\.0\.0\.1:6379 \(x\)/);
  });

  it('says a Redis that accepts connections but does not answer is not responding, rather than to start it', () => {
    expect(describeRedisUnavailable('Command timed out', { REDIS_URL: 'redis://:s3cret@10.0.0.5:6380/2' })).toBe(
      'Redis at redis://:****@10.0.0.5:6380/2 did not answer in time (Command timed out): it accepts connections but is not responding — check whether it is overloaded or paused.',
    );
    expect(describeRedisUnavailable('connect ETIMEDOUT', {})).toMatch(/^Cannot reach Redis/);
  });

  it('masks passwords in userinfo and in a password= parameter', () => {
    expect(maskUrlPassword('postgresql://a:b@h:1/d?sslmode=require&password=zz')).toBe(
      'postgresql://a:****@h:1/d?sslmode=require&password=****',
    );
    expect(maskUrlPassword('postgres://a@h/d')).toBe('postgres://a@h/d');
    expect(maskUrlPassword('not a url')).toBe('<invalid URL>');
  });
});

describe('startHintFor', () => {
  it('advises npm start in the dev loop only: the production cli image has none (prod walk, stop 32)', () => {
    expect(startHintFor(undefined)).toMatch(/^Start the system with `npm start`/);
    expect(startHintFor('development')).toMatch(/npm start/);
    expect(startHintFor('production')).toBe('Check that it runs and is reachable from here, with the same environment as the apps');
  });
});
