import { McbError } from '@mcb/core';
import { WebhookEnqueuer } from '@mcb/queue';
import {
  addTenant,
  assertDeletable,
  deleteTenant,
  getTenantBySlug,
  type IntegrationView,
  listIntegrations,
  listTenants,
  parseTenantConfig,
  setTenantActive,
  sharedGhlLocations,
  type TenantDeletion,
  type TenantRecord,
  type TenantSummary,
  tenantDeletionPlan,
  updateTenant,
} from '@mcb/tenancy';
import type { Command } from 'commander';
import { keyringFromEnv, loadCliEnv, withAdminDatabase } from '../env';
import { addFormatOptions, type FormatFlags, outputFormats, resolveFormat } from '../format-option';
import { printable, printableJson } from '../output';
import { openCliQueue, redisStep } from '../queue';
import { formatTable } from '../table';

const out = (text: string) => process.stdout.write(text);
const status = (t: TenantRecord) => (t.isActive ? 'active' : 'inactive');

/** Where an operator sees which config fields exist: `tenant show` prints the config with every default filled in. */
const configFieldsHint = "every field and its default: the config line of 'mcb tenant show <slug>'";

/** What `--phone-country` is for: the country a phone written without `+` is in (config `phone_country`). */
const phoneCountryHelp =
  'country phones written in national form are in, ISO 3166-1 alpha-2, e.g. GB: 07700 900456 is stored as +447700900456';
const noPhoneCountry = 'only 10-digit North American numbers are completed';

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

interface TenantFieldOptions {
  name?: string;
  owner?: string;
  email?: string;
  timezone?: string;
  currency?: string;
  phoneCountry?: string;
  config?: string;
}

/** The fields `tenant list` and `tenant show` both print as JSON, snake_case. */
const tenantFieldsJson = (t: Pick<TenantRecord, 'id' | 'slug' | 'name' | 'ownerName' | 'reportEmail' | 'isActive'>) => ({
  id: t.id,
  slug: t.slug,
  name: t.name,
  owner_name: t.ownerName,
  report_email: t.reportEmail,
  is_active: t.isActive,
});

/** One row of `mcb tenant list --format json`: the table's columns, snake_case; `active_integrations` are the active providers. */
export function tenantListJson(t: TenantSummary) {
  return { ...tenantFieldsJson(t), active_integrations: t.providers };
}

/**
 * `mcb tenant show --format json`: what the text shows (the config with every default filled in, each
 * integration's provider and whether it is active), never a secret or credential — not even masked.
 */
export function tenantShowJson(t: TenantRecord, integrations: Pick<IntegrationView, 'provider' | 'isActive'>[]) {
  return {
    ...tenantFieldsJson(t),
    created_at: t.createdAt,
    config: parseTenantConfig(t.config),
    integrations: integrations.map((i) => ({ provider: i.provider, is_active: i.isActive })),
  };
}

export function registerTenantCommands(program: Command): void {
  const tenant = program.command('tenant').description('Tenants (agency clients): add, list, show, activate, deactivate, update, delete');

  tenant
    .command('add <slug>')
    .description('Create a tenant (active unless --inactive); config is validated before anything is written')
    .requiredOption('--name <name>', 'display name, e.g. "Acme Health"')
    .option('--owner <name>', 'owner first name (report greeting)')
    .option('--email <email>', 'weekly report email')
    .option('--timezone <iana>', 'IANA time zone, e.g. America/New_York (default UTC)')
    .option('--currency <code>', 'reporting currency, ISO 4217, e.g. gbp (default usd): report money is in it')
    .option('--phone-country <code>', `${phoneCountryHelp} (default none: ${noPhoneCountry})`)
    .option('--config <json>', `further tenants.config fields as JSON (${configFieldsHint})`)
    .option('--inactive', 'create as pending: webhooks answer 404 until `mcb tenant activate`')
    .action(async (slug: string, opts: TenantFieldOptions & { inactive?: boolean }) => {
      const env = loadCliEnv();
      const config = opts.config ? parseJsonObject('--config', opts.config) : undefined;
      const t = await withAdminDatabase(env, (admin) =>
        addTenant(admin, {
          slug,
          name: opts.name as string,
          ownerName: opts.owner,
          reportEmail: opts.email,
          timezone: opts.timezone,
          currency: opts.currency,
          phoneCountry: opts.phoneCountry,
          config,
          isActive: !opts.inactive,
        }),
      );
      out(`Added tenant ${t.slug} (${printable(t.name)}), ${status(t)}.\n`);
      out(`Next: mcb integration set ${t.slug} <provider> --webhook-secret …; then mcb urls ${t.slug}\n`);
    });

  const list = tenant.command('list').description('Every tenant with its status and active integrations');
  addFormatOptions(list, outputFormats, 'text', 'text is a table, json {tenants} for scripts').action(async (opts: FormatFlags) => {
    const format = resolveFormat(opts, outputFormats, 'text');
    const env = loadCliEnv();
    const [tenants, shared] = await withAdminDatabase(
      env,
      async (admin) => [await listTenants(admin), await sharedGhlLocations(admin)] as const,
    );
    if (format === 'json') out(`${printableJson({ tenants: tenants.map(tenantListJson) })}\n`);
    else if (tenants.length === 0) out('No tenants. Add one with: mcb tenant add <slug> --name …\n');
    else
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

  const show = tenant.command('show <slug>').description('One tenant: fields, config with defaults, integrations (secrets masked)');
  addFormatOptions(show, outputFormats, 'text', 'text is for reading, json the same fields').action(
    async (slug: string, opts: FormatFlags) => {
      const format = resolveFormat(opts, outputFormats, 'text');
      const env = loadCliEnv();
      const keyring = keyringFromEnv(env);
      const [t, integrations] = await withAdminDatabase(env, async (admin) => [
        await getTenantBySlug(admin, slug),
        await listIntegrations(admin, keyring, slug),
      ]);
      if (format === 'json') return void out(`${printableJson(tenantShowJson(t, integrations))}\n`);
      out(`${t.slug}: ${printable(t.name)} (${status(t)})\n`);
      out(
        `  id            ${t.id}\n  owner         ${printable(t.ownerName ?? '-')}\n  report email  ${printable(t.reportEmail ?? '-')}\n`,
      );
      out(`  created       ${t.createdAt.toISOString()}\n`);
      out(`  config        ${printableJson(parseTenantConfig(t.config), 0)}\n`);
      out(`  integrations  ${integrations.map((i) => `${i.provider}${i.isActive ? '' : ' (inactive)'}`).join(', ') || '-'}\n`);
    },
  );

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
        // Said as it is when nothing changes (it said "is now inactive" to a tenant inactive already).
        const { t, already } = await withAdminDatabase(env, async (admin) => {
          const current = await getTenantBySlug(admin, slug);
          if (current.isActive === active) return { t: current, already: true };
          return { t: await setTenantActive(admin, slug, active), already: false };
        });
        out(`Tenant ${t.slug} is ${already ? 'already' : 'now'} ${status(t)}.\n`);
      });
  }

  tenant
    .command('delete <slug>')
    .description(
      'Delete an inactive tenant and everything it owns (logs, contacts, events, payments, Meta data, reports, integrations) and its queue, for good; without --yes it only says what would go',
    )
    .option('--yes', 'delete: without it nothing is deleted')
    .action(async (slug: string, opts: { yes?: boolean }) => {
      const env = loadCliEnv();
      const what = (d: TenantDeletion) =>
        `${d.rows.webhookLogs} webhook logs, ${d.rows.contacts} contacts, ${d.rows.funnelEvents} funnel events, ${d.rows.payments} payments, ${d.rows.integrations} integrations`;
      if (!opts.yes) {
        const plan = await withAdminDatabase(env, (admin) => tenantDeletionPlan(admin, slug));
        out(`Would delete tenant ${plan.tenant.slug} (${printable(plan.tenant.name)}, ${status(plan.tenant)}): ${what(plan)}.\n`);
        const first = plan.tenant.isActive ? `first run mcb tenant deactivate ${slug}, then ` : '';
        throw new McbError('bad_request', `Nothing deleted: ${first}run mcb tenant delete ${slug} --yes to delete it for good`);
      }
      // The queue goes first: with Redis unreachable nothing is deleted, so no queue is left in Redis that no
      // tenant (and no worker, and no `mcb queues` line) stands for any more — a faults walk (stop 38) left
      // 2,997 jobs so, with exit 0.
      const plan = await withAdminDatabase(env, (admin) => tenantDeletionPlan(admin, slug));
      assertDeletable(plan.tenant);
      const queue = openCliQueue(env);
      const enqueuer = new WebhookEnqueuer(queue.conn);
      try {
        const q = enqueuer.queueFor(plan.tenant.id);
        const removeQueue = () => redisStep(queue, 'removing the queue', () => q.obliterate({ force: true }));
        try {
          await removeQueue();
        } catch (err) {
          throw new McbError(
            'unavailable',
            `Nothing deleted: its queue ${q.name} could not be removed (${err instanceof Error ? err.message : String(err)}); run this again once Redis answers`,
          );
        }
        const done = await withAdminDatabase(env, (admin) => deleteTenant(admin, slug));
        out(`Deleted tenant ${done.tenant.slug} (${printable(done.tenant.name)}): ${what(done)}.\n`);
        // Again: the reconciler may have enqueued one of its rows meanwhile.
        await removeQueue();
        out(`Removed its queue ${q.name}.\n`);
      } finally {
        await enqueuer.close();
        await queue.close();
      }
    });

  tenant
    .command('update <slug>')
    .description('Change name, owner, email, timezone, currency, phone country or config fields (merged over the stored config, validated)')
    .option('--name <name>', 'display name')
    .option('--owner <name>', 'owner first name')
    .option('--email <email>', 'weekly report email')
    .option('--timezone <iana>', 'IANA time zone')
    .option('--currency <code>', 'reporting currency, ISO 4217, e.g. gbp')
    .option('--phone-country <code>', `${phoneCountryHelp} (unset: --config '{"phone_country":null}')`)
    .option('--config <json>', `tenants.config fields to set, as JSON (${configFieldsHint})`)
    .action(async (slug: string, opts: TenantFieldOptions) => {
      const env = loadCliEnv();
      const config = opts.config ? parseJsonObject('--config', opts.config) : undefined;
      if (!Object.values(opts).some((value) => value !== undefined)) {
        const t = await withAdminDatabase(env, (admin) => getTenantBySlug(admin, slug));
        out(
          `Nothing to change for tenant ${t.slug}: give --name, --owner, --email, --timezone, --currency, --phone-country or --config.\n`,
        );
        return;
      }
      const t = await withAdminDatabase(env, (admin) =>
        updateTenant(admin, slug, {
          name: opts.name,
          ownerName: opts.owner,
          reportEmail: opts.email,
          timezone: opts.timezone,
          currency: opts.currency,
          phoneCountry: opts.phoneCountry,
          config,
        }),
      );
      out(t.changed ? `Updated tenant ${t.slug}.\n` : `Nothing changed: tenant ${t.slug} already has those values.\n`);
    });
}
