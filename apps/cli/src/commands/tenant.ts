import { isDeepStrictEqual } from 'node:util';
import { InvalidConfig, McbError } from '@mcb/core';
import {
  addTenant,
  getTenantBySlug,
  listIntegrations,
  listTenants,
  mergeTenantConfig,
  parseTenantConfig,
  setTenantActive,
  sharedGhlLocations,
  type TenantRecord,
  tenantConfigWriteSchema,
  updateTenant,
} from '@mcb/tenancy';
import type { Command } from 'commander';
import type { z } from 'zod';
import { keyringFromEnv, loadCliEnv, withAdminDatabase } from '../env';
import { printable, printableJson } from '../output';
import { formatTable } from '../table';

const out = (text: string) => process.stdout.write(text);
const status = (t: TenantRecord) => (t.isActive ? 'active' : 'inactive');

/** Where an operator sees which config fields exist: `tenant show` prints the config with every default filled in. */
const configFieldsHint = "every field and its default: the config line of 'mcb tenant show <slug>'";

/** Parses a `--config`/`--credentials` JSON object argument, naming the option on failure. */
export function parseJsonObject(option: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new McbError('bad_request', `Invalid ${option}: not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new McbError('bad_request', `Invalid ${option}: must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** The config fields `--timezone` and `--currency` stand for, as a config patch (an empty value is a value: refused). */
const shorthandConfig = (opts: Pick<TenantFieldOptions, 'timezone' | 'currency'>): Record<string, unknown> => ({
  ...(opts.timezone !== undefined ? { timezone: opts.timezone } : {}),
  ...(opts.currency !== undefined ? { currency: opts.currency } : {}),
});

const kindOf = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'a list'
      : typeof value === 'object'
        ? 'an object'
        : typeof value === 'string'
          ? `"${value.length > 40 ? `${value.slice(0, 39)}…` : value}"`
          : String(value);

const expectedKinds: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  record: 'an object',
};

/**
 * The rule a config value broke, in the words of the other refusals (`must be …`), for the checks that
 * have no message of their own (a value of the wrong kind, out of range, not an email): zod's wording
 * ("Invalid input: expected string, received null") is not for operators. Undefined for the rest, which
 * carry the schema's own message (a currency, a time zone, a cron).
 */
function configIssueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = expectedKinds[issue.expected] ?? issue.expected;
      return issue.input === null
        ? `must be ${expected}, not null (leave it out to keep the current or default value)`
        : `must be ${expected}, not ${kindOf(issue.input)}`;
    }
    case 'too_small':
      if (issue.origin === 'string')
        return Number(issue.minimum) === 1 ? 'must not be empty' : `must have at least ${issue.minimum} characters`;
      if (issue.origin === 'array') return `must have at least ${issue.minimum} entries`;
      return issue.inclusive ? `must be at least ${issue.minimum}` : `must be more than ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must have at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} entries`;
      return issue.inclusive ? `must be at most ${issue.maximum}` : `must be less than ${issue.maximum}`;
    case 'invalid_format':
      return issue.format === 'email' ? `must be an email address, not ${kindOf(issue.input)}` : undefined;
    default:
      return undefined;
  }
}

/**
 * Checks what `--config`, `--timezone` and `--currency` set before anything is read or written, so a
 * bad value is refused with one line in the words of the other refusals ("Invalid tenant config:
 * currency: must be text, not null"). Every field has a default, so the patch alone is a config. An
 * unknown field is left to `addTenant`/`updateTenant`, which name it; they validate the merged config again.
 */
function assertConfigPatch(patch: Record<string, unknown>): void {
  const issue = tenantConfigWriteSchema.safeParse(patch, { error: configIssueMessage }).error?.issues[0];
  if (!issue || issue.code === 'unrecognized_keys') return;
  throw new InvalidConfig(`Invalid tenant config: ${issue.path.join('.') || 'config'}: ${issue.message}`);
}

/** A config as `tenant show` prints it (defaults filled in); as stored when it does not parse. */
function effectiveConfig(config: Record<string, unknown>): unknown {
  try {
    return parseTenantConfig(config);
  } catch {
    return config;
  }
}

/**
 * Whether an update left the tenant as `tenant show` shows it: same name, owner, email and config
 * (compared as values with defaults filled in, so `--timezone UTC` over the default UTC changes nothing).
 */
const sameTenantFields = (a: TenantRecord, b: TenantRecord): boolean =>
  a.name === b.name &&
  a.ownerName === b.ownerName &&
  a.reportEmail === b.reportEmail &&
  isDeepStrictEqual(effectiveConfig(a.config), effectiveConfig(b.config));

interface TenantFieldOptions {
  name?: string;
  owner?: string;
  email?: string;
  timezone?: string;
  currency?: string;
  config?: string;
}

export function registerTenantCommands(program: Command): void {
  const tenant = program.command('tenant').description('Tenants (agency clients): add, list, show, activate, deactivate, update');

  tenant
    .command('add <slug>')
    .description('Create a tenant (active unless --inactive); config is validated before anything is written')
    .requiredOption('--name <name>', 'display name, e.g. "Acme Health"')
    .option('--owner <name>', 'owner first name (report greeting)')
    .option('--email <email>', 'weekly report email')
    .option('--timezone <iana>', 'IANA time zone, e.g. America/New_York (default UTC)')
    .option('--currency <code>', 'reporting currency, ISO 4217, e.g. gbp (default usd): report money is in it')
    .option('--config <json>', `further tenants.config fields as JSON (${configFieldsHint})`)
    .option('--inactive', 'create as pending: webhooks answer 404 until `mcb tenant activate`')
    .action(async (slug: string, opts: TenantFieldOptions & { inactive?: boolean }) => {
      const env = loadCliEnv();
      const config = opts.config ? parseJsonObject('--config', opts.config) : undefined;
      assertConfigPatch(mergeTenantConfig(config ?? {}, shorthandConfig(opts)));
      const t = await withAdminDatabase(env, (admin) =>
        addTenant(admin, {
          slug,
          name: opts.name as string,
          ownerName: opts.owner,
          reportEmail: opts.email,
          timezone: opts.timezone,
          currency: opts.currency,
          config,
          isActive: !opts.inactive,
        }),
      );
      out(`Added tenant ${t.slug} (${printable(t.name)}), ${status(t)}.\n`);
      out(`Next: mcb integration set ${t.slug} <provider> --webhook-secret …; then mcb urls ${t.slug}\n`);
    });

  tenant
    .command('list')
    .description('Every tenant with its status and active integrations')
    .action(async () => {
      const env = loadCliEnv();
      const [tenants, shared] = await withAdminDatabase(
        env,
        async (admin) => [await listTenants(admin), await sharedGhlLocations(admin)] as const,
      );
      if (tenants.length === 0) return void out('No tenants. Add one with: mcb tenant add <slug> --name …\n');
      out(
        formatTable(
          ['SLUG', 'NAME', 'OWNER', 'REPORT EMAIL', 'STATUS', 'INTEGRATIONS'],
          tenants.map((t) => [t.slug, t.name, t.ownerName ?? '-', t.reportEmail ?? '-', status(t), t.providers.join(',') || '-']),
        ),
      );
      // Rows written before a location could belong to one tenant only: say which, and how to fix them.
      for (const { locationId, tenants: holders } of shared) {
        const names = holders.map((h) => (h.active ? h.slug : `${h.slug} (inactive)`)).join(', ');
        const active = holders.filter((h) => h.active).length;
        const effect =
          active > 1
            ? 'HighLevel-signed deliveries for it are refused at every active one until it is left to one tenant'
            : 'were more than one of them active, HighLevel-signed deliveries for it would be refused at each; leave it to one tenant';
        process.stderr.write(
          `${printable(
            `warning: GHL location ${locationId} is named by tenants ${names}: ${effect} (mcb integration set <slug> ghl --location-id <that tenant's other ids>, or mcb tenant update <slug> --config)`,
          )}\n`,
        );
      }
    });

  tenant
    .command('show <slug>')
    .description('One tenant: fields, config with defaults, integrations (secrets masked)')
    .action(async (slug: string) => {
      const env = loadCliEnv();
      const keyring = keyringFromEnv(env);
      const [t, integrations] = await withAdminDatabase(env, async (admin) => [
        await getTenantBySlug(admin, slug),
        await listIntegrations(admin, keyring, slug),
      ]);
      out(`${t.slug}: ${printable(t.name)} (${status(t)})\n`);
      out(
        `  id            ${t.id}\n  owner         ${printable(t.ownerName ?? '-')}\n  report email  ${printable(t.reportEmail ?? '-')}\n`,
      );
      out(`  created       ${t.createdAt.toISOString()}\n`);
      out(`  config        ${printableJson(parseTenantConfig(t.config), 0)}\n`);
      out(`  integrations  ${integrations.map((i) => `${i.provider}${i.isActive ? '' : ' (inactive)'}`).join(', ') || '-'}\n`);
    });

  for (const [name, active] of [
    ['activate', true],
    ['deactivate', false],
  ] as const) {
    tenant
      .command(`${name} <slug>`)
      .description(
        active ? 'Accept webhooks for this tenant again' : 'Stop accepting webhooks (404 unknown_tenant within ~1 s); data is kept',
      )
      .action(async (slug: string) => {
        const env = loadCliEnv();
        const t = await withAdminDatabase(env, (admin) => setTenantActive(admin, slug, active));
        out(`Tenant ${t.slug} is now ${status(t)}.\n`);
      });
  }

  tenant
    .command('update <slug>')
    .description('Change name, owner, email, timezone, currency or config fields (merged over the stored config, validated)')
    .option('--name <name>', 'display name')
    .option('--owner <name>', 'owner first name')
    .option('--email <email>', 'weekly report email')
    .option('--timezone <iana>', 'IANA time zone')
    .option('--currency <code>', 'reporting currency, ISO 4217, e.g. gbp')
    .option('--config <json>', `tenants.config fields to set, as JSON (${configFieldsHint})`)
    .action(async (slug: string, opts: TenantFieldOptions) => {
      const env = loadCliEnv();
      const config = opts.config ? parseJsonObject('--config', opts.config) : undefined;
      assertConfigPatch({ ...config, ...shorthandConfig(opts) });
      const given = Object.values(opts).some((value) => value !== undefined);
      const [before, after] = await withAdminDatabase(env, async (admin) => {
        const before = await getTenantBySlug(admin, slug);
        if (!given) return [before, before];
        const patch = {
          name: opts.name,
          ownerName: opts.owner,
          reportEmail: opts.email,
          timezone: opts.timezone,
          currency: opts.currency,
          config,
        };
        return [before, await updateTenant(admin, slug, patch)];
      });
      if (!given) out(`Nothing to change for tenant ${after.slug}: give --name, --owner, --email, --timezone, --currency or --config.\n`);
      else if (sameTenantFields(before, after)) out(`Nothing changed: tenant ${after.slug} already has those values.\n`);
      else out(`Updated tenant ${after.slug}.\n`);
    });
}
