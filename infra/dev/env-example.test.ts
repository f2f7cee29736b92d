import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliEnvSchema } from '../../apps/cli/src/env';
import { consoleEnvSchema } from '../../apps/console/src/env';
import { receiverEnvSchema } from '../../apps/receiver/src/env';
import { workerEnvSchema } from '../../apps/worker/src/env';

const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
const documented = new Set(
  example
    .split('\n')
    .map((l) => /^([A-Z0-9_]+)=/.exec(l)?.[1])
    .filter(Boolean),
);

describe('.env.example', () => {
  it.each([
    ['receiver', receiverEnvSchema],
    ['worker', workerEnvSchema],
    ['console', consoleEnvSchema],
    ['cli', cliEnvSchema],
  ])('documents every variable the %s reads, each with a comment', (_name, schema) => {
    for (const key of Object.keys(schema.shape)) {
      expect(documented, `${key} missing from .env.example`).toContain(key);
      const line = example.split('\n').find((l) => l.startsWith(`${key}=`)) ?? '';
      expect(line, `${key} needs a one-line comment`).toMatch(/#\s+\S/);
    }
  });
});
