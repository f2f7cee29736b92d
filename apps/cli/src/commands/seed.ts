import { seedDemoTenants } from '@mcb/tenancy';
import type { Command } from 'commander';
import { keyringFromEnv, loadCliEnv, withAdminDatabase } from '../env';

export function registerSeedCommands(program: Command): void {
  const seed = program.command('seed').description('Demo data');
  seed
    .command('demo')
    .description('Create the demo tenants ppcu (active), centner and columnline (pending); idempotent')
    .action(async () => {
      const env = loadCliEnv();
      const keyring = keyringFromEnv(env);
      const created = await withAdminDatabase(env, (admin) => seedDemoTenants(admin, keyring));
      process.stdout.write(created.length ? `Seeded demo tenants: ${created.join(', ')}\n` : 'Demo tenants already present.\n');
    });
}
