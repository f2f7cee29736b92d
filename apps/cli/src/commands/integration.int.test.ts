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

describe('mcb integration set|list <slug> denefits', () => {
  it('warns a tenant that reports in another currency that Denefits amounts are US dollars (kept apart); a usd tenant hears nothing', async () => {
    const gbp = `dn-gbp-${randomUUID().slice(0, 8)}`;
    const usd = `dn-usd-${randomUUID().slice(0, 8)}`;
    await addTenant(admin, { slug: gbp, name: gbp, currency: 'gbp' });
    await addTenant(admin, { slug: usd, name: usd });
    const warning = `warning: denefits amounts are US dollars: tenant ${gbp} reports in gbp, so its Denefits payments are listed apart in the weekly report and mcb stats, not in their totals\n`;
    const set = await mcb('integration', 'set', gbp, 'denefits', '--webhook-secret', 'dn-shared-secret-1');
    expect(set).toMatchObject({ code: 0, stderr: warning });
    expect(set.stdout).toContain(`Added denefits integration for ${gbp}.`);
    expect(await mcb('integration', 'list', gbp)).toMatchObject({ code: 0, stderr: warning });
    expect(await mcb('integration', 'set', usd, 'denefits', '--webhook-secret', 'dn-shared-secret-2')).toMatchObject({
      code: 0,
      stderr: '',
    });
    expect(await mcb('integration', 'list', usd)).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('mcb integration set|rotate-secret never drop a secret a sender still uses without saying so', () => {
  it('set --webhook-secret on an integration with a secret is refused (naming rotate-secret); --replace-secret replaces it', async () => {
    // An operator's review (stop 38): re-running the onboarding command replaced the secret at once, and the
    // next delivery signed with the old one got 401.
    const slug = `set-twice-${randomUUID().slice(0, 8)}`;
    await addTenant(admin, { slug, name: slug });
    expect(await mcb('integration', 'set', slug, 'perspective', '--webhook-secret')).toMatchObject({ code: 0 });
    const again = await mcb('integration', 'set', slug, 'perspective', '--webhook-secret');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${slug} perspective already has a webhook secret`);
    expect(again.stderr).toContain(`mcb integration rotate-secret ${slug} perspective`);
    const replaced = await mcb('integration', 'set', slug, 'perspective', '--webhook-secret', '--replace-secret');
    expect(replaced).toMatchObject({ code: 0 });
    expect(replaced.stdout).toContain(`Updated perspective integration for ${slug}.`);
  });

  it('a second rotate-secret while the previous secret is still accepted is refused; --revoke-previous goes through', async () => {
    const slug = `rotate-twice-${randomUUID().slice(0, 8)}`;
    await addTenant(admin, { slug, name: slug });
    expect(await mcb('integration', 'set', slug, 'manychat', '--webhook-secret', 'mc-rotate-secret-1')).toMatchObject({ code: 0 });
    const first = await mcb('integration', 'rotate-secret', slug, 'manychat');
    expect(first.stdout).toMatch(/The previous secret is accepted until /);
    const second = await mcb('integration', 'rotate-secret', slug, 'manychat', '--overlap', '1w');
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/still accepted until \d{4}-\d\d-\d\dT.*--revoke-previous to end it now/);
    const forced = await mcb('integration', 'rotate-secret', slug, 'manychat', '--overlap', '1w', '--revoke-previous');
    expect(forced).toMatchObject({ code: 0 });
  });
});
