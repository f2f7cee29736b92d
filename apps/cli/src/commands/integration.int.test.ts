import { randomUUID } from 'node:crypto';
import { createDatabase } from '@mcb/db';
import { addTenant, generateKey } from '@mcb/tenancy';
import { testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';

// A new operator's first day: `mcb integration set <slug> manychat` with no api_key was accepted without
// a word; deliveries carrying only a subscriber_id then failed in the worker. ManyChat's api_key is
// needed only to fetch such a subscriber (SPEC §4) — full subscriber bodies work without it — so the
// command warns (it does not refuse), naming what fails and the command that fixes it.

const { databaseUrl } = testEnv();
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
afterAll(() => admin.close());
beforeAll(() => {
  process.env.DATABASE_URL = databaseUrl;
  process.env.MCB_ENCRYPTION_KEY = generateKey();
});

describe('mcb integration set <slug> manychat', () => {
  it('warns without an api_key (stored all the same), and says nothing with one', async () => {
    const slug = `mc-key-${randomUUID().slice(0, 8)}`;
    await addTenant(admin, { slug, name: slug });
    const warning =
      `warning: manychat has no api_key: deliveries carrying only a subscriber_id fail (the worker fetches the subscriber from ManyChat with it); ` +
      `full subscriber bodies work. Add it: mcb integration set ${slug} manychat --credentials '{"api_key":"…"}'\n`;
    const bare = await mcb('integration', 'set', slug, 'manychat', '--webhook-secret', 'mc-shared-secret-1');
    expect(bare).toMatchObject({ code: 0, stderr: warning });
    expect(bare.stdout).toContain(`Added manychat integration for ${slug}.`);
    const empty = await mcb('integration', 'set', slug, 'manychat', '--credentials', '{"api_key":""}');
    expect(empty.stderr).toBe(warning);

    const keyed = await mcb('integration', 'set', slug, 'manychat', '--credentials', '{"api_key":"mc-key-123456789"}');
    expect(keyed).toMatchObject({ code: 0, stderr: '' });
    // An update without --credentials keeps the stored key: no warning.
    expect(await mcb('integration', 'set', slug, 'manychat')).toMatchObject({ code: 0, stderr: '' });
  });
});
