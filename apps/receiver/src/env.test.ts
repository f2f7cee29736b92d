import { describe, expect, it } from 'vitest';
import { checkReceiverEnv, httpServerOptions, receiverEnvSchema } from './env';

const parse = (extra: Record<string, string> = {}) =>
  receiverEnvSchema.parse({
    DATABASE_URL: 'postgres://unused@127.0.0.1/x',
    MCB_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    ...extra,
  });

describe('receiver env: intake bounds', () => {
  it('defaults: Node deadlines 30 s / 10 s, body read 15 s, body budget 64 MiB (8 MiB a tenant), 256 MiB of intake a tenant a minute, 8 job attempts', () => {
    const env = checkReceiverEnv(parse());
    expect(httpServerOptions(env)).toEqual({
      requestTimeout: 30_000,
      headersTimeout: 10_000,
      // Above the 60 s idle timeout of the usual proxies in front (ALB, ingress-nginx).
      keepAliveTimeout: 65_000,
      connectionsCheckingInterval: 1_000,
    });
    expect(env).toMatchObject({
      BODY_READ_TIMEOUT_MS: 15_000,
      BODY_BUDGET_BYTES: 64 * 1024 * 1024,
      BODY_BUDGET_PER_TENANT_BYTES: 8 * 1024 * 1024,
      INTAKE_BYTES_PER_TENANT_PER_MINUTE: 256 * 1024 * 1024,
      REJECTIONS_STORED_PER_MINUTE: 60,
      CREDENTIALED_REJECTIONS_STORED_PER_MINUTE: 20,
      MAX_CONNECTIONS: 10_000,
      JOB_ATTEMPTS: 8,
    });
    // Read, as the worker reads it (docs walk, stop 37: the receiver ignored it).
    expect(parse({ JOB_ATTEMPTS: '3' }).JOB_ATTEMPTS).toBe(3);
  });

  it('refuses bounds a body at the limit could never pass, naming the variable', () => {
    const bad = (extra: Record<string, string>) => {
      try {
        checkReceiverEnv(parse(extra));
        return undefined;
      } catch (err) {
        return (err as Error & { envVariable?: string }).envVariable;
      }
    };
    expect(bad({ BODY_LIMIT_BYTES: String(16 * 1024 * 1024) })).toBe('BODY_BUDGET_PER_TENANT_BYTES');
    expect(bad({ BODY_BUDGET_BYTES: String(4 * 1024 * 1024) })).toBe('BODY_BUDGET_BYTES');
    expect(bad({ INTAKE_BYTES_PER_TENANT_PER_MINUTE: '65536' })).toBe('INTAKE_BYTES_PER_TENANT_PER_MINUTE');
    expect(bad({ HEADERS_TIMEOUT_MS: '60000' })).toBe('HEADERS_TIMEOUT_MS');
    const fits = { BODY_LIMIT_BYTES: '65536', BODY_BUDGET_PER_TENANT_BYTES: '65536', INTAKE_BYTES_PER_TENANT_PER_MINUTE: '65536' };
    expect(bad(fits)).toBeUndefined();
  });
});
