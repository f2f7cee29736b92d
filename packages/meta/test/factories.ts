import { randomBytes } from 'node:crypto';
import type { Database } from '@mcb/db';
import { addTenant, generateKey, type Keyring, parseKeyring, setIntegration } from '@mcb/tenancy';

/** A fresh keyring for one test file. */
export function testKeyring(): Keyring {
  return parseKeyring(generateKey());
}

export interface MetaTenant {
  id: string;
  slug: string;
  token: string;
  adAccountId: string;
}

let counter = 0;

/** Creates an active tenant with an active `meta` integration (unique slug, token and ad account id). */
export async function createMetaTenant(
  admin: Database,
  keyring: Keyring,
  opts: { config?: Record<string, unknown>; timezone?: string } = {},
): Promise<MetaTenant> {
  counter++;
  const suffix = `${Date.now().toString(36)}${counter}${randomBytes(2).toString('hex')}`;
  const slug = `meta-${suffix}`.slice(0, 40);
  const token = `EAAtest${randomBytes(24).toString('hex')}`;
  const adAccountId = `act_${100_000 + Math.floor(Math.random() * 800_000)}${counter}`;
  const tenant = await addTenant(admin, { slug, name: `Meta ${suffix}`, timezone: opts.timezone ?? 'UTC', config: opts.config });
  await setIntegration(admin, keyring, { slug, provider: 'meta', credentials: { access_token: token, ad_account_id: adAccountId } });
  return { id: tenant.id, slug, token, adAccountId };
}
