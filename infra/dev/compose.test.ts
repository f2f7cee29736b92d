import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

type Service = {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: unknown };
  deploy?: { replicas?: number };
  environment?: Record<string, string>;
  env_file?: string | string[];
};

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const s = compose.services;

describe('docker-compose.yml', () => {
  it('has exactly the services of the stack', () => {
    expect(Object.keys(s).sort()).toEqual(['console', 'migrate', 'postgres', 'receiver', 'redis', 'worker']);
  });

  it('runs postgres 16 and redis 7 with AOF and noeviction, both health-checked', () => {
    expect(s.postgres?.image).toBe('postgres:16');
    expect(s.redis?.image).toBe('redis:7');
    expect(s.redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']));
    expect(s.postgres?.healthcheck).toBeDefined();
    expect(s.redis?.healthcheck).toBeDefined();
  });

  it('migrates once before any app starts', () => {
    expect(s.migrate?.command).toEqual(expect.arrayContaining(['db', 'migrate']));
    expect(s.migrate?.depends_on?.postgres?.condition).toBe('service_healthy');
    for (const app of ['receiver', 'worker', 'console']) {
      expect(s[app]?.depends_on?.migrate?.condition).toBe('service_completed_successfully');
      expect(s[app]?.depends_on?.redis?.condition).toBe('service_healthy');
      expect(s[app]?.healthcheck).toBeDefined();
      expect(s[app]?.env_file).toBe('.env');
      expect(s[app]?.environment?.DATABASE_URL).toMatch(/@postgres:5432\//);
      expect(s[app]?.environment?.REDIS_URL).toBe('redis://redis:6379');
    }
  });

  it('runs two workers and points each app at its own entry point', () => {
    expect(s.worker?.deploy?.replicas).toBe(2);
    expect(String(s.receiver?.command)).toContain('apps/receiver/src/main.ts');
    expect(String(s.worker?.command)).toContain('apps/worker/src/main.ts');
    expect(String(s.console?.command)).toContain('apps/console/src/main.ts');
  });
});
