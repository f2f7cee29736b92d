import { randomBytes } from 'node:crypto';
import type { Database } from '@mcb/db';
import { type Keyring, sealJson, sealText } from './crypto';

/** The seed's tenants (SPEC §11): `ppcu` active; `centner` and `columnline` pending (inactive). */
export const demoTenants = [
  { slug: 'ppcu', name: 'Postpartum Care USA', ownerName: 'Eric', reportEmail: 'eric@ppcu.example', isActive: true },
  { slug: 'centner', name: 'Centner Wellness', ownerName: null, reportEmail: null, isActive: false },
  { slug: 'columnline', name: 'Columnline AI', ownerName: 'Connor', reportEmail: 'connor@columnline.example', isActive: false },
] as const;

const demoProviders = ['stripe', 'manychat', 'ghl', 'denefits', 'perspective'] as const;

function demoSecret(provider: string): string {
  const random = randomBytes(24).toString('base64url');
  return provider === 'stripe' ? `whsec_${random}` : random;
}

/**
 * Inserts the demo tenants with a fresh random webhook secret per integration (encrypted).
 * Idempotent: existing tenants and integrations are left exactly as they are. Admin path.
 * Returns the slugs it created.
 */
export async function seedDemoTenants(admin: Database, keyring: Keyring): Promise<string[]> {
  const created: string[] = [];
  for (const t of demoTenants) {
    const rows = await admin.sql<{ id: string }[]>`
      insert into tenants (slug, name, owner_name, report_email, is_active, config)
      values (${t.slug}, ${t.name}, ${t.ownerName}, ${t.reportEmail}, ${t.isActive}, ${admin.sql.json({ timezone: 'America/New_York' })})
      on conflict (slug) do nothing
      returning id`;
    const row = rows[0];
    if (!row) continue;
    created.push(t.slug);
    for (const provider of demoProviders) {
      const credentials = provider === 'manychat' ? { api_key: `demo_${randomBytes(8).toString('hex')}` } : {};
      await admin.sql`
        insert into tenant_integrations (tenant_id, provider, credentials, webhook_secret)
        values (${row.id}, ${provider}, ${admin.sql.json(sealJson(keyring, credentials) as never)}, ${sealText(keyring, demoSecret(provider))})
        on conflict (tenant_id, provider) do nothing`;
    }
  }
  return created;
}
