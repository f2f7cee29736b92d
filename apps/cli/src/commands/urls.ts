import {
  buildExampleRequest,
  curlCommand,
  exampleBody,
  getTenantBySlug,
  parseTenantConfig,
  readWebhookSecrets,
  secretPlaceholder,
  type WebhookIntegrationState,
  webhookIntegrationStates,
  webhookSetupGuide,
  withSecret,
} from '@mcb/tenancy';
import type { Command } from 'commander';
import Stripe from 'stripe';
import { type CliEnv, keyringFromEnv, loadCliEnv, withAdminDatabase } from '../env';
import { printable } from '../output';

const out = (text: string) => process.stdout.write(text);

/**
 * Where the tools must send: `PUBLIC_BASE_URL`, else the local receiver on `PORT` (default 3000) —
 * `npm start` writes both into .mcb/dev.env, which `npm run mcb` reads.
 */
export function receiverBaseUrl(env: Pick<CliEnv, 'PUBLIC_BASE_URL' | 'PORT'>): string {
  return (env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${env.PORT ?? 3000}`).replace(/\/+$/, '');
}

/**
 * One line on whether a receiver answers at `url` (the GET health check of SPEC §3), within 1.5 s.
 * `publicBase`: the address is `PUBLIC_BASE_URL` (so the hint is about that address, not about setting it).
 */
async function probeReceiver(url: string, publicBase: boolean): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_500) });
    const body = (await res.json().catch(() => null)) as { status?: string; error?: { message?: string } } | null;
    if (res.ok && body?.status === 'ok') return 'a receiver answers there';
    return `a receiver answers there but says ${res.status} ${body?.error?.message ?? ''}`.trim();
  } catch (err) {
    const reason = err instanceof Error && err.name === 'TimeoutError' ? 'no answer within 1.5 s' : 'nothing answers';
    return publicBase
      ? `${reason} from here: check that PUBLIC_BASE_URL reaches a running receiver (DNS, proxy or load balancer, TLS); the providers send there`
      : `${reason}: start the system (npm start), or set PUBLIC_BASE_URL to the receiver's public address (PORT for a local one)`;
  }
}

export function registerUrlsCommands(program: Command): void {
  program
    .command('urls <slug>')
    .description(
      'Per tool: the webhook URL (PUBLIC_BASE_URL, else the local receiver on PORT), where the secret goes, an example body and a test curl',
    )
    .option('--show-secrets', 'print the real webhook secrets (in the steps and the test curls) instead of <provider-secret>')
    .action(async (slug: string, opts: { showSecrets?: boolean }) => {
      const env = loadCliEnv();
      const base = receiverBaseUrl(env);
      const keyring = opts.showSecrets ? keyringFromEnv(env) : null;
      const { tenant, secrets, states } = await withAdminDatabase(env, async (admin) => ({
        tenant: await getTenantBySlug(admin, slug),
        secrets: keyring ? await readWebhookSecrets(admin, keyring, slug) : {},
        states: await webhookIntegrationStates(admin, slug),
      }));
      const config = parseTenantConfig(tenant.config);
      const ghlLocationIds = config.ghl.location_ids;
      const guide = webhookSetupGuide(base, tenant.slug, { ghlLocationIds, stripeSecretStored: states.stripe === 'ready' });
      out(
        `Webhook setup for ${tenant.slug} (${printable(tenant.name)})${tenant.isActive ? '' : ' — INACTIVE: run mcb tenant activate first'}\n`,
      );
      out(`Receiver: ${base} — ${await probeReceiver(guide[0]?.url ?? base, env.PUBLIC_BASE_URL !== undefined)}\n`);
      // An operator's review (stop 38): the local address was printed as the URL to paste into each tool.
      if (env.PUBLIC_BASE_URL === undefined)
        out(
          "This is a local address (PUBLIC_BASE_URL is not set): the providers cannot reach it. Before pasting these URLs into a tool, set PUBLIC_BASE_URL to the receiver's public https address.\n",
        );
      out(
        opts.showSecrets
          ? 'Secrets: shown (--show-secrets). Keep this output private.\n'
          : `Secrets: masked as <provider-secret> (${secretPlaceholder('manychat')}, …); add --show-secrets for curls that work as printed.\n`,
      );
      for (const setup of guide) {
        const secret = secrets[setup.source];
        // An inactive tenant is unknown to the receiver: every delivery gets 404, whatever its integration.
        const state = tenant.isActive ? states[setup.source] : 'tenant_inactive';
        out(`\n${setup.source}: ${setup.url}   [${integrationLine(state)}]\n  ${setup.tool}\n  Secret: ${setup.secretCarrier}\n`);
        for (const step of setup.steps) out(`  - ${secret ? withSecret(step, setup.source, secret) : step}\n`);
        out(`  Example body (what the tool sends):\n    ${JSON.stringify(exampleBody(setup.source, config.currency))}\n`);
        out(
          '  Test delivery (marked "mcb_test": true — checked and stored like a real one, then ignored: it makes no contact, event or payment, and mcb stats counts it among the ignored logs):\n',
        );
        out(
          `    ${state === 'ready' ? testCurl(setup.source, base, tenant.slug, secret, Boolean(opts.showSecrets), config.currency) : refusedUntilSet(setup.source, tenant.slug, state)}\n`,
        );
      }
      // The receiver's GET answers ok for any known source of an active tenant, integration or not (SPEC §3:
      // it never reveals whether one is configured): say so, or an "ok" reads as "this tool is set up".
      out(
        `\nCheck each URL: curl ${base}/api/webhooks/${tenant.slug}/<source>  → {"status":"ok",…} means the URL reaches this tenant, not that the tool's integration is set (the GET never says; see [integration …] above). The test deliveries check the secret; then mcb logs ${tenant.slug} shows each test as ignored.\n`,
      );
      out(`<provider-secret> is the value printed by mcb integration set ${tenant.slug} <provider> --webhook-secret (or rotate-secret).\n`);
    });
}

/** What the receiver does with this provider's deliveries now. */
function integrationLine(state: WebhookIntegrationState | 'tenant_inactive' | undefined): string {
  if (state === 'tenant_inactive') return 'tenant INACTIVE: deliveries get 404';
  if (state === 'ready') return 'integration active';
  if (state === 'no_secret') return 'integration active, no webhook secret';
  if (state === 'inactive') return 'integration INACTIVE: deliveries get 401';
  return 'no integration yet: deliveries get 401';
}

/** In place of a test curl that could only be refused: the command that makes it work. */
function refusedUntilSet(source: string, slug: string, state: WebhookIntegrationState | 'tenant_inactive' | undefined): string {
  if (state === 'tenant_inactive')
    return `(no test curl: the tenant is inactive, so a delivery would get 404; first run mcb tenant activate ${slug})`;
  const why = state === 'inactive' ? 'is inactive' : state === 'no_secret' ? 'has no webhook secret' : 'does not exist yet';
  return `(no test curl: the ${source} integration ${why}, so a delivery would get 401 missing_credentials; first run mcb integration set ${slug} ${source} --webhook-secret${source === 'stripe' ? ' whsec_…' : ''})`;
}

function testCurl(
  source: Parameters<typeof buildExampleRequest>[2],
  base: string,
  slug: string,
  secret: string | undefined,
  shown: boolean,
  currency: string,
): string {
  if (shown && !secret) return `(no webhook secret set: mcb integration set ${slug} ${source} --webhook-secret)`;
  if (source === 'stripe' && !secret) return '(add --show-secrets: the curl is signed with the signing secret and valid for 5 minutes)';
  const request = buildExampleRequest(base, slug, source, secret ?? secretPlaceholder(source), { currency });
  if (request.needsStripeSignature && secret) {
    // Signed now with Stripe's own helper; Stripe's tolerance makes it valid for 5 minutes.
    request.headers['Stripe-Signature'] = Stripe.webhooks.generateTestHeaderString({ payload: request.body, secret });
  }
  return curlCommand(request);
}
