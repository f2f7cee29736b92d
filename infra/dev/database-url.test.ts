import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { databaseUrlError, freePort, redisRefusal, unreachableReason } from './services';

// Review, stop 33: npm start printed a `?password=` of DATABASE_URL in clear, kept the part of a password
// after an `@`, and said only "Invalid URL" or 'role "bob" does not exist', naming no variable.
describe('databaseUrlError', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

  it('never prints the password, wherever the URL carries it', () => {
    for (const url of [
      'postgres://mcb@127.0.0.1:1/mcb?password=hunter2',
      'postgres://bob:hunter2@127.0.0.1:1/mcb',
      'postgres://bob:p@ss:hunter2@127.0.0.1:1/mcb',
      'postgres://bob:hunter2@127.0.0.1:1/mcb?sslmode=require&password=hunter2',
    ]) {
      const message = databaseUrlError(url, refused).message;
      expect(message).toMatch(
        /^cannot reach DATABASE_URL postgres:\/\/.*127\.0\.0\.1:1\/mcb.* \(connect ECONNREFUSED 127\.0\.0\.1:1\): start that Postgres/,
      );
      expect(message).not.toContain('hunter2');
      expect(message).not.toContain('ss:');
    }
  });

  it('names DATABASE_URL when it is not a URL, or when Postgres refuses what it says', () => {
    expect(databaseUrlError('garbage', new TypeError('Invalid URL')).message).toBe(
      'DATABASE_URL is not a URL (Invalid URL): set it as postgres://user:password@host:5432/database, or unset it and npm start runs an embedded Postgres',
    );
    const role = Object.assign(new Error('role "bob" does not exist'), { code: '28000' });
    expect(databaseUrlError('postgres://bob:pw@127.0.0.1:5432/mcb', role).message).toBe(
      'DATABASE_URL postgres://bob:****@127.0.0.1:5432/mcb: role "bob" does not exist',
    );
  });
});

// Operator walk, stop 33: an unreachable REDIS_URL ran npm start for 180 s, logging ECONNREFUSED hundreds of
// times, and then blamed the apps' ready checks.
describe('unreachableReason', () => {
  it('says why nothing answers at the URL, and null once something listens there', async () => {
    const port = await freePort();
    expect(await unreachableReason(`redis://:secret@127.0.0.1:${port}/0`, 6379)).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(await unreachableReason('::nope', 6379)).toBe('not a URL');
    const server = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      expect(await unreachableReason(`redis://127.0.0.1:${port}`, 6379)).toBeNull();
    } finally {
      server.close();
    }
  });
});

// Re-walk, stop 33: a REDIS_URL whose password Redis refuses ran npm start with every app failing, and
// BullMQ printing the password with each error.
describe('redisRefusal', () => {
  it("says what Redis answers to the URL's credentials, and null for PONG", async () => {
    const seen: string[] = [];
    // A Redis that knows one user: `mcb` with password `p@ss word`.
    const server = createServer((socket) => {
      let authed = false;
      socket.on('data', (chunk) => {
        seen.push(chunk.toString());
        const text = chunk.toString();
        if (text.includes('AUTH')) authed = text.includes('$3\r\nmcb\r\n$9\r\np@ss word\r\n');
        if (text.includes('AUTH')) socket.write(authed ? '+OK\r\n' : '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
        if (text.includes('PING')) socket.write(authed ? '+PONG\r\n' : '-NOAUTH Authentication required.\r\n');
      });
    }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    try {
      expect(await redisRefusal(`redis://mcb:wrong@127.0.0.1:${port}/0`)).toBe(
        'WRONGPASS invalid username-password pair or user is disabled.',
      );
      expect(await redisRefusal(`redis://127.0.0.1:${port}`)).toBe('NOAUTH Authentication required.');
      expect(await redisRefusal(`redis://mcb:p%40ss%20word@127.0.0.1:${port}/0`)).toBeNull();
      expect(await redisRefusal(`rediss://mcb:wrong@127.0.0.1:${port}/0`)).toBeNull(); // TLS: not spoken here
    } finally {
      server.close();
    }
    expect(seen.join('')).toContain('PING');
  });
});
