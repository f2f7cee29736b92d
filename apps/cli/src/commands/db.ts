import { runMigrations } from '@mcb/db';
import type { Command } from 'commander';
import { loadCliEnv } from '../env';

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('Database schema');
  db.command('migrate')
    .description('Apply pending migrations from drizzle/ (idempotent)')
    .action(async () => {
      const env = loadCliEnv();
      await runMigrations(env.DATABASE_URL);
      process.stdout.write('Migrations applied.\n');
    });
}
