import { parseCapiCredentials } from '@mcb/capi';
import { InvalidConfig, MissingCredentials, parseDuration } from '@mcb/core';
import { providers } from '@mcb/db/schema';
import { assertMetaCredentials } from '@mcb/meta';
import {
  getTenantBySlug,
  type IntegrationView,
  listIntegrations,
  parseProvider,
  parseTenantConfig,
  removeIntegration,
  rotateWebhookSecret,
  setIntegration,
  verifiesNoDelivery,
  webhookIntegrationStates,
} from '@mcb/tenancy';
import type { Command } from 'commander';
import { keyringFromEnv, loadCliEnv, withAdminDatabase } from '../env';
import { addFormatOptions, type FormatFlags, outputFormats, resolveFormat } from '../format-option';
import { printableJson } from '../output';
import { formatTable } from '../table';
import { parseJsonObject } from './tenant';

const out = (text: string) => process.stdout.write(text);

/** What `--credentials` must hold for the Meta integrations, as the message of a refusal says it. */
const credentialShapes: Partial<Record<string, string>> = {
  meta: '{"access_token":"…","ad_account_id":"act_…"}',
  meta_capi: '{"dataset_id":"<numeric dataset id>","access_token":"…"}',
};

/**
 * The Meta integrations are used by scheduled jobs, not by deliveries: stored without usable credentials,
 * they would fail every run. Refused before anything is stored, naming the keys (`credentials`: what will
 * be stored; undefined keeps the stored ones, so only a new integration needs them).
 */
export function checkMetaCredentials(
  slug: string,
  provider: string,
  credentials: Record<string, unknown> | undefined,
  exists: boolean,
): void {
  const shape = credentialShapes[provider];
  if (!shape || (credentials === undefined && exists)) return;
  if (credentials === undefined)
    throw new MissingCredentials(slug, provider, `give them with: mcb integration set ${slug} ${provider} --credentials '${shape}'`);
  if (provider === 'meta') assertMetaCredentials(slug, credentials);
  else
    try {
      parseCapiCredentials({ id: '', slug }, credentials);
    } catch (err) {
      if (!(err instanceof InvalidConfig)) throw err;
      throw new InvalidConfig(`${err.message} (expected --credentials '${shape}')`);
    }
}

/** A warning on stderr: `warning: <message>` (the messages of this file are also `integration list --format json`'s `warnings`). */
const warn = (message: string) => process.stderr.write(`warning: ${message}\n`);

/**
 * ManyChat without an `api_key`: warned, not refused. The worker needs the key only for a delivery that
 * carries a bare `subscriber_id` (it fetches the subscriber from ManyChat's API, SPEC §4) and fails such a
 * delivery without it; a delivery carrying the whole subscriber works without it, so a tenant may
 * rightly have none.
 */
export function manyChatApiKeyWarning(slug: string): string {
  return (
    `manychat has no api_key: deliveries carrying only a subscriber_id fail (the worker fetches the subscriber from ManyChat with it); ` +
    `full subscriber bodies work. Add it: mcb integration set ${slug} manychat --credentials '{"api_key":"…"}'`
  );
}

/**
 * Denefits for a tenant that reports in another currency than usd: Denefits finances in US dollars and its
 * deliveries carry no currency, so they are booked in usd (packages/sources/src/denefits) and the weekly
 * report and `mcb stats` list them apart from the tenant's totals (ADR 0019). Said once, at set and list.
 */
export function denefitsCurrencyWarning(slug: string, currency: string): string | null {
  return currency === 'usd'
    ? null
    : `denefits amounts are US dollars: tenant ${slug} reports in ${currency}, so its Denefits payments are listed apart in the weekly report and mcb stats, not in their totals`;
}

/** Whether credentials (as given, or as a masked view shows them) hold a non-empty ManyChat `api_key`. */
const hasApiKey = (credentials: Record<string, unknown> | undefined) =>
  typeof credentials?.api_key === 'string' && credentials.api_key !== '';

/**
 * What an active integration's gaps mean for its deliveries, one warning each (without the `warning: `
 * its stderr line starts with), with the command that closes the gap (never a secret: the view is masked).
 */
export function gapWarnings(slug: string, view: Pick<IntegrationView, 'provider' | 'isActive' | 'gaps' | 'credentials'>): string[] {
  if (!view.isActive) return [];
  const { provider, gaps } = view;
  const lines: string[] = [];
  if (gaps.includes('no_secret')) {
    const effect = verifiesNoDelivery(provider, gaps)
      ? 'every delivery gets 401 missing_credentials'
      : 'unsigned GHL workflow webhooks get 401 missing_credentials (HighLevel-signed deliveries for its locations are accepted)';
    lines.push(
      `${provider} is active with no webhook secret: ${effect}; add one: mcb integration set ${slug} ${provider} --webhook-secret${provider === 'stripe' ? ' whsec_…' : ''}`,
    );
  }
  if (gaps.includes('no_ghl_location')) {
    lines.push(
      `ghl has no location id: HighLevel-signed deliveries get 401 until one is set: mcb integration set ${slug} ghl --location-id <locationId>`,
    );
  }
  if (provider === 'manychat' && !hasApiKey(view.credentials)) lines.push(manyChatApiKeyWarning(slug));
  return lines;
}

/**
 * One integration of `mcb integration list --format json`: what the table shows, with every secret and
 * credential masked exactly as there (`maskSecret`: its last 4 characters at most, `[set]` for a
 * non-text value) — never more. `webhook_secret` is null when none is stored; `gaps` says what the
 * receiver lacks to verify deliveries (`no_secret`: the table's `MISSING`; `no_ghl_location`); `warnings`
 * are what is warned on stderr for it (`gapWarnings`), which also name what the
 * worker lacks (ManyChat without `api_key`): a script checks one list for "will its deliveries work".
 */
export function integrationJson(slug: string, r: IntegrationView) {
  return {
    provider: r.provider,
    is_active: r.isActive,
    webhook_secret: r.webhookSecret,
    previous_webhook_secret: r.previousWebhookSecret,
    previous_secret_expires_at: r.previousSecretExpiresAt,
    credentials: r.credentials,
    gaps: r.gaps,
    warnings: gapWarnings(slug, r),
    last_error: r.lastError,
    last_success_at: r.lastSuccessAt,
  };
}

// Printed right after this process generated it; `mcb urls <slug> --show-secrets` prints it again on request.
const printGenerated = (slug: string, provider: string, secret: string) =>
  out(
    `Generated ${provider} webhook secret (store it in the ${provider} setup now; mcb urls ${slug} --show-secrets shows it again):\n${secret}\n`,
  );

export function registerIntegrationCommands(program: Command): void {
  const integration = program
    .command('integration')
    .description('Per-tenant provider credentials and webhook secrets (encrypted at rest, shown masked)');

  integration
    .command('set <slug> <provider>')
    .description(`Create or replace an integration (${providers.join('|')}) and activate it`)
    .option('--credentials <json>', 'credentials JSON, e.g. \'{"secret_key":"sk_live_…"}\' (replaces the stored ones)')
    .option(
      '--webhook-secret [secret]',
      'webhook secret to store; without a value a strong one is generated and printed (stripe: the whsec_… from the dashboard). Required for a webhook source that has none yet (ghl: or --location-id)',
    )
    .option(
      '--location-id <ids...>',
      'ghl only: the HighLevel location id(s) of this tenant (replaces the list); signed GHL deliveries for any other location are refused',
    )
    .option(
      '--replace-secret',
      'replace a webhook secret the integration already has, at once (deliveries signed with the old one get 401); rotate-secret keeps it valid for an overlap',
    )
    .action(
      async (
        slug: string,
        provider: string,
        opts: { credentials?: string; webhookSecret?: string | true; locationId?: string[]; replaceSecret?: boolean },
      ) => {
        const env = loadCliEnv();
        const keyring = keyringFromEnv(env);
        const credentials = opts.credentials ? parseJsonObject('--credentials', opts.credentials) : undefined;
        if (opts.locationId && parseProvider(provider) !== 'ghl') throw new Error('--location-id applies to the ghl provider only');
        const { result, locations, state, missingApiKey, currency } = await withAdminDatabase(env, async (admin) => {
          const named = parseProvider(provider);
          const existing = (await listIntegrations(admin, keyring, slug)).find((i) => i.provider === named);
          checkMetaCredentials(slug, named, credentials, existing !== undefined);
          // Without --credentials the stored ones are kept (their view is masked: a key shows as dots).
          const missingApiKey = named === 'manychat' && !hasApiKey(credentials ?? existing?.credentials);
          // One transaction: a location another tenant holds refuses the command and nothing changes.
          const result = await setIntegration(admin, keyring, {
            slug,
            provider,
            credentials,
            webhookSecret: opts.webhookSecret,
            existingSecret: opts.replaceSecret ? 'replace' : 'refuse',
            ghlLocationIds: opts.locationId,
          });
          const state = (await webhookIntegrationStates(admin, slug))[result.provider];
          const tenant = result.tenant ?? (await getTenantBySlug(admin, slug));
          const config = parseTenantConfig(tenant.config);
          const locations = result.provider === 'ghl' ? config.ghl.location_ids : null;
          return { result, locations, state, missingApiKey, currency: config.currency };
        });
        // setIntegration refuses a webhook source that could verify no delivery; GHL may go without a
        // secret when it has a location (HighLevel-signed deliveries only): say what that leaves out.
        out(`${result.created ? 'Added' : 'Updated'} ${result.provider} integration for ${slug}.\n`);
        if (locations?.length)
          out(`GHL-signed deliveries are accepted for location(s): ${locations.join(', ')} (any other location: 401).\n`);
        else if (locations) {
          out(
            `No GHL location id set: HighLevel-signed deliveries are refused until you add one (mcb integration set ${slug} ghl --location-id <id>); workflow webhooks carrying the shared secret work.\n`,
          );
        }
        if (locations?.length && state === 'no_secret')
          out(
            `No GHL webhook secret: workflow webhooks (unsigned) get 401 until you add one (mcb integration set ${slug} ghl --webhook-secret).\n`,
          );
        if (result.generatedSecret) printGenerated(slug, result.provider, result.generatedSecret);
        if (missingApiKey) warn(manyChatApiKeyWarning(slug));
        const dollars = result.provider === 'denefits' ? denefitsCurrencyWarning(slug, currency) : null;
        if (dollars) warn(dollars);
      },
    );

  integration
    .command('rotate-secret <slug> <provider>')
    .description('Replace the webhook secret; the previous one stays valid for --overlap so the provider can switch over')
    .option('--overlap <duration>', 'how long the previous secret keeps verifying (e.g. 30m, 24h, 7d; 0 ends it now)', '24h')
    .option('--webhook-secret <secret>', 'the new secret (required for stripe: the rolled whsec_… from the dashboard); else generated')
    .option(
      '--revoke-previous',
      'rotate even while the secret an earlier rotation kept is still accepted (one previous secret is kept: that one stops now)',
    )
    .action(async (slug: string, provider: string, opts: { overlap: string; webhookSecret?: string; revokePrevious?: boolean }) => {
      const env = loadCliEnv();
      const keyring = keyringFromEnv(env);
      const overlapMs = parseDuration(opts.overlap);
      const result = await withAdminDatabase(env, (admin) =>
        rotateWebhookSecret(admin, keyring, {
          slug,
          provider,
          newSecret: opts.webhookSecret,
          overlapMs,
          revokePrevious: opts.revokePrevious === true,
        }),
      );
      out(`Rotated ${result.provider} webhook secret for ${slug}.\n`);
      out(
        result.previousExpiresAt
          ? `The previous secret is accepted until ${result.previousExpiresAt.toISOString()}.\n`
          : 'The previous secret is no longer accepted.\n',
      );
      if (result.generatedSecret) printGenerated(slug, result.provider, result.generatedSecret);
    });

  const list = integration.command('list <slug>').description("A tenant's integrations with every secret masked to its last 4 characters");
  addFormatOptions(list, outputFormats, 'text', 'text is a table, json {tenant, integrations} for scripts, secrets masked alike').action(
    async (slug: string, opts: FormatFlags) => {
      const format = resolveFormat(opts, outputFormats, 'text');
      const env = loadCliEnv();
      const keyring = keyringFromEnv(env);
      const [rows, currency] = await withAdminDatabase(env, async (admin) => [
        await listIntegrations(admin, keyring, slug),
        parseTenantConfig((await getTenantBySlug(admin, slug)).config).currency,
      ]);
      // The warnings below go to stderr in both formats: stdout stays one JSON document.
      if (format === 'json') out(`${printableJson({ tenant: slug, integrations: rows.map((r) => integrationJson(slug, r)) })}\n`);
      else if (rows.length === 0) return void out(`No integrations for ${slug}. Add one with: mcb integration set ${slug} <provider> …\n`);
      else
        out(
          formatTable(
            ['PROVIDER', 'STATUS', 'WEBHOOK SECRET', 'PREVIOUS (UNTIL)', 'CREDENTIALS', 'LAST ERROR'],
            rows.map((r) => [
              r.provider,
              r.isActive ? 'active' : 'inactive',
              // `-`: a provider that receives no webhooks (meta, resend, …).
              r.webhookSecret ?? (r.gaps.includes('no_secret') ? 'MISSING' : '-'),
              r.previousWebhookSecret ? `${r.previousWebhookSecret} (${r.previousSecretExpiresAt?.toISOString() ?? '?'})` : '-',
              Object.entries(r.credentials)
                .map(([k, v]) => `${k}=${v}`)
                .join(' ') || '-',
              r.lastError ?? '-',
            ]),
          ),
        );
      for (const message of rows.flatMap((r) => gapWarnings(slug, r))) warn(message);
      const dollars = rows.some((r) => r.provider === 'denefits' && r.isActive) ? denefitsCurrencyWarning(slug, currency) : null;
      if (dollars) warn(dollars);
    },
  );

  integration
    .command('remove <slug> <provider>')
    .description('Delete an integration and its secrets (deliveries from that source get 401 missing_credentials)')
    .action(async (slug: string, provider: string) => {
      const env = loadCliEnv();
      await withAdminDatabase(env, (admin) => removeIntegration(admin, slug, provider));
      out(`Removed ${provider} integration for ${slug}.\n`);
    });
}
