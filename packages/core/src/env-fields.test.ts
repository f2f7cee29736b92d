import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { commonEnvFields } from './env-fields';

const prefix = z.object({ QUEUE_PREFIX: commonEnvFields.QUEUE_PREFIX });

describe('QUEUE_PREFIX', () => {
  it.each(['mcb', 'mcb-staging_2', '{mcb}'])('accepts %s', (value) => {
    expect(prefix.parse({ QUEUE_PREFIX: value }).QUEUE_PREFIX).toBe(value);
  });

  it.each(['{mcb', 'mcb}', 'a:b', '{a}{b}', 'm cb', ''])('refuses %j', (value) => {
    expect(prefix.safeParse({ QUEUE_PREFIX: value }).success).toBe(false);
  });
});
