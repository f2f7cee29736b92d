import {
  capiLastError,
  capiTargetOf,
  getCapiStatus,
  markCapiError,
  markCapiSuccess,
  replayCapiSends,
  runCapiSend,
  sendCapiTestEvents,
  sentReplayWindowHours,
} from '@mcb/capi';
import { McbError, maskSecret } from '@mcb/core';
import { createDatabase, type Database, withTenantSql } from '@mcb/db';
import { MetaRateLimited } from '@mcb/meta';
import { createTenantContextLoader, listIntegrations } from '@mcb/tenancy';
import type { Command } from 'commander';
import { type CliEnv, keyringFromEnv, loadCliEnv } from '../env';
import { addFormatOptions, type FormatFlags, outputFormats, resolveFormat } from '../format-option';
import { printable, printableJson } from '../output';
import { formatTable } from '../table';

const out = (text: string) => process.stdout.write(text);
const fmt = (n: number) => n.toLocaleString('en-US');
const when = (d: Date | null) => (d ? `${d.toISOString().slice(0, 19)}Z` : 'never');

/** Opens what a `mcb capi` command needs and closes it afterwards. */
async function withCapi<T>(
  env: CliEnv,
  slug: string,
  fn: (ctx: {
    admin: ReturnType<typeof createDatabase>;
    database: ReturnType<typeof createDatabase>;
    target: ReturnType<typeof capiTargetOf>;
  }) => Promise<T>,
): Promise<T> {
  const keyring = keyringFromEnv(env);
  const admin = createDatabase({ url: env.DATABASE_URL, role: 'admin', max: 2, applicationName: 'mcb-cli' });
  const database = createDatabase({ url: env.DATABASE_URL, role: 'app', max: 4, applicationName: 'mcb-cli-capi' });
  const loader = createTenantContextLoader({ admin, keyring, listen: false });
  try {
    const target = capiTargetOf(await loader.getTenantContext(slug));
    return await fn({ admin, database, target });
  } finally {
    await loader.close();
    await Promise.all([database.close(), admin.close()]);
  }
}

/** Whether the tenant has a funnel event with this id (read under the tenant: RLS keeps other tenants' out). */
async function funnelEventExists(database: Database, tenantId: string, id: string): Promise<boolean> {
  const rows = await withTenantSql(database.sql, tenantId, (tx) => tx`select 1 from funnel_events where id = ${id}::uuid limit 1`);
  return rows.length > 0;
}

const settingsOf = (env: CliEnv) => ({ graphUrl: env.META_GRAPH_URL, apiVersion: env.META_API_VERSION, timeoutMs: env.META_TIMEOUT_MS });

export function registerCapiCommands(program: Command): void {
  const capi = program.command('capi').description("Meta Conversions API: each tenant's leads and purchases sent to its dataset");

  const statusCommand = capi
    .command('status <slug>')
    .description('The meta_capi integration (token masked), its event mapping, and what was sent, skipped or refused');
  addFormatOptions(statusCommand, outputFormats, 'text', 'text is for reading, json every figure').action(
    async (slug: string, opts: FormatFlags) => {
      const format = resolveFormat(opts, outputFormats, 'text');
      const env = loadCliEnv();
      await withCapi(env, slug, async ({ admin, database, target }) => {
        const integration = (await listIntegrations(admin, keyringFromEnv(env), slug)).find((i) => i.provider === 'meta_capi');
        const status = await getCapiStatus(database, target.tenantId);
        if (format === 'json') {
          // ADR 0021: snake_case, every key present, the token masked as the text shows it.
          const doc = {
            tenant: slug,
            dataset_id: target.datasetId,
            access_token: maskSecret(target.accessToken),
            test_event_code: target.testEventCode ?? null,
            lead_on_first_event: !!target.lead,
            events: target.events,
            last_success_at: integration?.lastSuccessAt ?? null,
            last_error: integration?.lastError ?? null,
            sent: status.sent,
            sent_last_7_days: status.sentLast7Days,
            sent_to_test_events: status.sentToTestEvents,
            last_sent_at: status.lastSentAt,
            pending: status.pending,
            skipped: status.skipped,
            refused: status.failed,
            by_event: status.byEvent.map((r) => ({ event_name: r.eventName, status: r.status, count: r.count })),
            recent_problems: status.recentProblems.map((p) => ({
              id: p.id,
              event_name: p.eventName,
              status: p.status,
              at: p.at,
              reason: p.reason,
            })),
          };
          return void process.stdout.write(`${printableJson(doc)}\n`);
        }
        const mapping = [
          ...(target.lead ? ['first funnel event → Lead'] : []),
          ...Object.entries(target.events).map(([type, name]) => `${type} → ${name}`),
        ];
        out(
          [
            `Tenant ${slug} — Conversions API`,
            `  dataset           ${target.datasetId}`,
            `  access token      ${maskSecret(target.accessToken)}`,
            `  test event code   ${target.testEventCode ? `${target.testEventCode} (every send goes to Test Events only)` : '-'}`,
            `  events            ${mapping.join(', ') || '(none)'}`,
            `  last success      ${when(integration?.lastSuccessAt ?? null)}`,
            // Meta's own error text (stored): printable, like every table cell below.
            `  last error        ${printable(integration?.lastError ?? '-')}`,
            `  sent              ${fmt(status.sent)} (${fmt(status.sentLast7Days)} in the last 7 days; last ${when(status.lastSentAt)})`,
            ...(status.sentToTestEvents
              ? [
                  `                    of which ${fmt(status.sentToTestEvents)} to Test Events only (test_event_code): once the code is removed, those still inside Meta's 7-day window are sent to the dataset, older ones marked skipped`,
                ]
              : []),
            `  pending           ${fmt(status.pending)}`,
            `  skipped           ${fmt(status.skipped)}`,
            `  refused by Meta   ${fmt(status.failed)}`,
            '',
          ].join('\n'),
        );
        if (status.byEvent.length)
          out(
            formatTable(
              ['EVENT', 'STATUS', 'COUNT'],
              status.byEvent.map((r) => [r.eventName, r.status, fmt(r.count)]),
            ),
          );
        if (status.recentProblems.length) {
          out('\nRecent skips and refusals:\n');
          out(
            formatTable(
              ['ID', 'EVENT', 'STATUS', 'AT', 'REASON'],
              status.recentProblems.map((p) => [String(p.id), p.eventName, p.status, when(p.at), (p.reason ?? '-').slice(0, 100)]),
            ),
          );
        }
      });
    },
  );

  capi
    .command('test <slug>')
    .description(
      "Send the tenant's most recent events (or one synthetic Lead) with a test_event_code: they appear in Events Manager → Test Events only",
    )
    .option('--code <code>', 'test event code from Events Manager (default: the integration’s test_event_code)')
    .option('--limit <n>', 'most recent events to send', '5')
    .action(async (slug: string, opts: { code?: string; limit: string }) => {
      const env = loadCliEnv();
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) throw new McbError('bad_request', 'Invalid --limit: 1 to 1000');
      await withCapi(env, slug, async ({ database, target }) => {
        let result: Awaited<ReturnType<typeof sendCapiTestEvents>>;
        try {
          result = await sendCapiTestEvents({ database, target, settings: settingsOf(env), testEventCode: opts.code, limit });
        } catch (err) {
          if (err instanceof McbError) throw err;
          throw new Error(
            `Test send failed for ${slug}: ${err instanceof MetaRateLimited ? 'rate limited by Meta, try later' : (err as Error).message}`,
          );
        }
        out(
          `Sent ${result.events.length} test event${result.events.length === 1 ? '' : 's'} to dataset ${target.datasetId} with test code ${result.testEventCode}` +
            `${result.synthetic ? ' (no recent event: one synthetic Lead)' : ''}: Meta received ${result.eventsReceived}, fbtrace_id ${result.fbtraceId ?? '-'}.\n`,
        );
        out(
          formatTable(
            ['EVENT', 'EVENT ID', 'TIME', 'SOURCE', 'USER DATA (hashed)'],
            result.events.map((e) => [
              e.event_name,
              e.event_id,
              `${new Date(e.event_time * 1000).toISOString().slice(0, 19)}Z`,
              e.action_source,
              Object.keys(e.user_data).join(','),
            ]),
          ),
        );
      });
    });

  capi
    .command('send <slug>')
    .description('Send the tenant’s unsent events now, in the foreground (the scheduler does this every minute)')
    .action(async (slug: string) => {
      const env = loadCliEnv();
      await withCapi(env, slug, async ({ database, target }) => {
        try {
          const r = await runCapiSend({ database, target, settings: settingsOf(env) });
          if (r.sent || r.failed) await markCapiSuccess(database, target.tenantId);
          out(
            `Sent ${fmt(r.sent)} event${r.sent === 1 ? '' : 's'} for ${slug} (${fmt(r.skipped)} skipped, ${fmt(r.failed)} refused by Meta, ${fmt(r.requests)} request${r.requests === 1 ? '' : 's'}) in ${(r.durationMs / 1000).toFixed(1)} s.\n` +
              // What was sent in test mode reached Test Events only (sent for real once the code is removed).
              (target.testEventCode && r.sent
                ? `They went to Test Events only (test_event_code ${target.testEventCode}), not to the dataset: remove the code and the next send sends them for real.\n`
                : ''),
          );
        } catch (err) {
          if (err instanceof MetaRateLimited)
            throw new Error(`Rate limited by Meta for ${Math.ceil(err.waitMs / 1000)} s: what was sent is recorded; run again later`);
          const lastError = capiLastError(err);
          await markCapiError(database, target.tenantId, lastError);
          throw new Error(`Conversions API send failed for ${slug}: ${lastError}`);
        }
      });
    });

  capi
    .command('replay <slug>')
    .description(
      `Forget recorded sends so the next send plans them again (default: refused and skipped ones; sent ones only within ${sentReplayWindowHours} h of their send: Meta dedupes a re-sent event within 48 h, and counts it again after)`,
    )
    .option('--status <status>', 'failed | skipped | sent')
    .option('--event <funnelEventId>', 'only the sends of one funnel event')
    .option('--dry-run', 'count only')
    .action(async (slug: string, opts: { status?: string; event?: string; dryRun?: boolean }) => {
      const env = loadCliEnv();
      if (opts.status && !['failed', 'skipped', 'sent'].includes(opts.status))
        throw new McbError('bad_request', 'Invalid --status: failed, skipped or sent');
      if (opts.event && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(opts.event))
        throw new McbError('bad_request', 'Invalid --event: a funnel event id (uuid)');
      await withCapi(env, slug, async ({ database, target }) => {
        // An id of no event of this tenant (a typo, another tenant's event) would replay nothing and say "0 forgotten".
        if (opts.event && !(await funnelEventExists(database, target.tenantId, opts.event)))
          throw new McbError('not_found', `No funnel event ${opts.event} in tenant ${slug}`);
        // Re-sent now, they would go to Test Events only and be sent again for real when the code goes:
        // past 48 h after their first send, Meta would count them twice.
        if (opts.status === 'sent' && target.testEventCode && !opts.dryRun)
          throw new McbError(
            'bad_request',
            `${slug}'s meta_capi integration has a test_event_code: replaying sent events now would send them to Test Events, then again to the dataset once the code is removed. Remove the code first (mcb integration set ${slug} meta_capi --credentials …)`,
          );
        const {
          count: n,
          leadsResent,
          tooOld,
          pastWindow,
        } = await replayCapiSends(database, target.tenantId, {
          status: opts.status as 'failed' | 'skipped' | 'sent' | undefined,
          funnelEventId: opts.event,
          dryRun: opts.dryRun,
        });
        out(
          opts.dryRun
            ? `${fmt(n)} recorded send${n === 1 ? '' : 's'} would be replayed for ${slug}.\n`
            : `${fmt(n)} recorded send${n === 1 ? '' : 's'} forgotten for ${slug}: the next send (mcb capi send ${slug}, or the scheduler within a minute) plans them again.\n`,
        );
        if (leadsResent > 0)
          out(
            `Of ${n === 1 ? 'it' : 'them'}, ${fmt(leadsResent)} sent Lead${leadsResent === 1 ? '' : 's'} ${opts.dryRun ? 'would go' : 'go'} out again exactly as recorded (same event_id, so Meta keeps one Lead per person).\n`,
          );
        if (pastWindow > 0)
          out(
            `${fmt(pastWindow)} sent for an event past Meta's 7-day window ${opts.dryRun ? 'would be' : pastWindow === 1 ? 'was' : 'were'} kept: Meta would refuse ${pastWindow === 1 ? 'it' : 'them'} now.\n`,
          );
        if (tooOld > 0)
          out(
            `${fmt(tooOld)} sent more than ${sentReplayWindowHours} h ago ${opts.dryRun ? 'would be' : tooOld === 1 ? 'was' : 'were'} kept: Meta drops a re-sent event only within 48 h of the first, so it would count ${tooOld === 1 ? 'it' : 'them'} twice.\n`,
          );
      });
    });
}
