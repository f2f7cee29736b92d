import { createDatabase } from '@mcb/db';
import { parseKeyring, seedDemoTenants } from '@mcb/tenancy';
import type { Command } from 'commander';
import { loadCliEnv } from '../env';

export function registerSeedCommands(program: Command): void {
  const seed = program.command('seed').description('Demo data');
  seed
    .command('demo')
    .description('Create the demo tenants ppcu (active), centner and columnline (pending); idempotent')
    .action(async () => {
      const env = loadCliEnv();
      if (!env.MCB_ENCRYPTION_KEY) throw new Error('Missing MCB_ENCRYPTION_KEY (32 bytes, base64)');
      const admin = createDatabase({ url: env.DATABASE_URL, role: 'admin', max: 1 });
      try {
        const created = await seedDemoTenants(admin, parseKeyring(env.MCB_ENCRYPTION_KEY));
        process.stdout.write(created.length ? `Seeded demo tenants: ${created.join(', ')}\n` : 'Demo tenants already present.\n');
      } finally {
        await admin.close();
      }
    });
}
