import {
  assertKeyScope,
  encryptionKeyUsage,
  generateKey,
  type KeyUsage,
  type RotateKeysResult,
  rotateKeys,
  unheldKeys,
  valuesUnder,
} from '@mcb/tenancy';
import type { Command } from 'commander';
import { keyringFromEnv, loadCliEnv, withAdminDatabase } from '../env';

const out = (text: string) => process.stdout.write(text);
const usageLine = (usage: Record<string, number>) =>
  Object.entries(usage)
    .map(([kid, n]) => `${kid}: ${n}`)
    .join(', ') || 'no sealed values';

/**
 * What a rotation leaves to do. An old key may go only when no value of ANY tenant is under it: after
 * `--tenant`, other tenants' values still need it (operator walk, stop 33: "Old keys can now be removed"
 * after one tenant's rotation, and removing it stopped every other tenant's intake).
 */
export function rotationAdvice(result: Pick<RotateKeysResult, 'usage' | 'usageEverywhere' | 'currentKid'>, keysHeld: number): string {
  const old = (usage: KeyUsage) => Object.keys(usage).filter((kid) => kid !== result.currentKid);
  const here = old(result.usage);
  if (here.length) return `Still under old keys: ${here.join(', ')}; run again.`;
  const elsewhere = old(result.usageEverywhere);
  if (elsewhere.length) {
    return `Other tenants still have ${valuesUnder(result.usageEverywhere, elsewhere)} value(s) under ${elsewhere.join(', ')}: keep those keys in MCB_ENCRYPTION_KEY until mcb keys rotate (without --tenant) has re-sealed them.`;
  }
  return keysHeld > 1 ? 'Old keys can now be removed from MCB_ENCRYPTION_KEY.' : `Every value is under key ${result.currentKid}.`;
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('Encryption keys of credentials and webhook secrets (MCB_ENCRYPTION_KEY)');

  keys
    .command('rotate')
    .description(
      'Re-encrypt every value under the first key of MCB_ENCRYPTION_KEY="new,old" (old keys still open values). Every receiver, worker and console must already run with "new,old": an app without the new key cannot open what this re-seals (README "Rotating the encryption key")',
    )
    .option('--tenant <slug>', 'only this tenant')
    .action(async (opts: { tenant?: string }) => {
      const env = loadCliEnv();
      const keyring = keyringFromEnv(env);
      const result = await withAdminDatabase(env, async (admin) => {
        // Warn once the database answers and the tenant is known: a run that cannot reach it, or that
        // names no tenant, says only that (issue 16; re-walk, stop 33).
        await admin.sql`select 1`;
        await assertKeyScope(admin, { slug: opts.tenant });
        process.stderr.write(
          `Re-sealing under key ${keyring.currentKid}: every receiver, worker and console must already run with it in MCB_ENCRYPTION_KEY, or their intake stops (README "Rotating the encryption key").\n`,
        );
        return rotateKeys(admin, keyring, { slug: opts.tenant });
      });
      out(`Re-encrypted ${result.reencrypted} value(s) under key ${result.currentKid}. Values per key: ${usageLine(result.usage)}.\n`);
      if (result.failures.length) {
        const list = result.failures.map((f) => `${f.slug}/${f.provider}`).join(', ');
        throw new Error(
          `Cannot decrypt ${result.failures.length} integration(s) with MCB_ENCRYPTION_KEY: ${list} (keep their old key in the list)`,
        );
      }
      out(`${rotationAdvice(result, keyring.keys.size)}\n`);
    });

  keys
    .command('status')
    .description('How many sealed values each key id protects')
    .option('--tenant <slug>', 'only this tenant')
    .action(async (opts: { tenant?: string }) => {
      const env = loadCliEnv();
      const keyring = keyringFromEnv(env);
      const usage = await withAdminDatabase(env, (admin) => encryptionKeyUsage(admin, { slug: opts.tenant }));
      out(`Current key ${keyring.currentKid}. Values per key: ${usageLine(usage)}.\n`);
      const unheld = unheldKeys(usage, keyring);
      if (unheld.length) {
        process.stderr.write(
          `${valuesUnder(usage, unheld)} value(s) under ${unheld.join(', ')}, a key this MCB_ENCRYPTION_KEY does not hold: nothing running with it can open them (put the key back in the list; README "Rotating the encryption key").\n`,
        );
      }
    });

  keys
    .command('generate')
    .description('Print a new random 32-byte key (base64) to put first in MCB_ENCRYPTION_KEY')
    .action(() => {
      out(`${generateKey()}\n`);
    });
}
