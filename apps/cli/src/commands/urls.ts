import { getTenantBySlug, parseTenantConfig, webhookSetupGuide } from '@mcb/tenancy';
import type { Command } from 'commander';
import { loadCliEnv, withAdminDatabase } from '../env';

const out = (text: string) => process.stdout.write(text);

export function registerUrlsCommands(program: Command): void {
  program
    .command('urls <slug>')
    .description('The webhook URLs and headers to paste into each tool, from PUBLIC_BASE_URL (secrets shown as <SECRET>)')
    .action(async (slug: string) => {
      const env = loadCliEnv();
      const tenant = await withAdminDatabase(env, (admin) => getTenantBySlug(admin, slug));
      out(`Webhook setup for ${tenant.slug} (${tenant.name})${tenant.isActive ? '' : ' — INACTIVE: run mcb tenant activate first'}\n`);
      const ghlLocationIds = parseTenantConfig(tenant.config).ghl.location_ids;
      for (const setup of webhookSetupGuide(env.PUBLIC_BASE_URL, tenant.slug, { ghlLocationIds })) {
        out(`\n${setup.source}: ${setup.url}\n  ${setup.tool}\n`);
        for (const step of setup.steps) out(`  - ${step}\n`);
      }
      out(
        `\nCheck each endpoint: curl ${env.PUBLIC_BASE_URL.replace(/\/+$/, '')}/api/webhooks/${tenant.slug}/<source>  → {"status":"ok",…}\n`,
      );
      out(`<SECRET> is the value printed by mcb integration set ${tenant.slug} <source> --webhook-secret (or rotate-secret).\n`);
    });
}
