import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    redisPrefix: string;
  }
}

/** URLs of this run's own migrated database and Redis key prefix (set by the global setup). */
export function testEnv() {
  return {
    databaseUrl: inject('databaseUrl'),
    redisUrl: inject('redisUrl'),
    redisPrefix: inject('redisPrefix'),
  };
}
