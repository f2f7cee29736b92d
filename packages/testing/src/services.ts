import { Redis } from 'ioredis';
import postgres from 'postgres';

/** Base URLs for integration tests: env if set, else the local services this machine runs. */
export function testServiceUrls(env: Record<string, string | undefined> = process.env) {
  return {
    postgresUrl: env.TEST_DATABASE_URL ?? env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.TEST_REDIS_URL ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
}

const startPostgres = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start   (or set DATABASE_URL)';
const startRedis = 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no   (or set REDIS_URL)';

/** Fails loudly (never skips) when a service is down, naming the command that starts it. */
export async function assertServicesReachable(urls = testServiceUrls()): Promise<void> {
  const sql = postgres(urls.postgresUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${redactUserInfo(urls.postgresUrl)} (${(err as Error).message}). Start it with: ${startPostgres}`,
    );
  } finally {
    await sql.end({ timeout: 1 });
  }
  const redis = new Redis(urls.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis is not reachable at ${urls.redisUrl} (${(err as Error).message}). Start it with: ${startRedis}`);
  } finally {
    redis.disconnect();
  }
}

function redactUserInfo(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** Creates a fresh, uniquely named database on the server of `baseUrl` and returns its URL. */
export async function createTestDatabase(
  baseUrl: string,
  label = 'mcb_test',
): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `${label}_${Date.now().toString(36)}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end({ timeout: 1 });
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    url,
    name,
    drop: async () => {
      const a = postgres(baseUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists "${name}" with (force)`);
      await a.end({ timeout: 1 });
    },
  };
}

/** Deletes every key matching `pattern` (SCAN + UNLINK, never KEYS or FLUSHDB: other runs share the server). */
export async function deleteRedisKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
