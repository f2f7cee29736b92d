import { McbError, sleep } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import {
  emptyMetaSyncTotals,
  MetaRateLimited,
  MetaSyncAlreadyRunning,
  type MetaSyncCheckpoint,
  type MetaSyncLock,
  type MetaSyncProgress,
  type MetaSyncResult,
  markMetaSyncError,
  markMetaSyncSuccess,
  metaSettingsFromEnv,
  metaSyncLastError,
  metaTargetOf,
  runTenantMetaSync,
  todayIn,
  withMetaSyncLock,
} from '@mcb/meta';
import { createTenantContextLoader } from '@mcb/tenancy';
import type { Command } from 'commander';
import { keyringFromEnv, loadCliEnv, withAdminDatabase } from '../env';
import { addFormatOptions, type FormatFlags, outputFormats, resolveFormat } from '../format-option';
import { printableJson } from '../output';
import { formatTable } from '../table';

const out = (text: string) => process.stdout.write(text);
const fmt = (n: number) => n.toLocaleString('en-US');
// A foreground sync waits out short rate limits itself; longer ones are left to the scheduler.
const maxForegroundWaitMs = 15 * 60_000;

function parseDate(option: string, text: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`)))
    throw new McbError('bad_request', `Invalid ${option}: use YYYY-MM-DD`);
  return text;
}

/**
 * One-line progress bar on stderr over the sync's steps (the ads, then each month of insights):
 * redrawn in place on a terminal, one line per step otherwise.
 */
function progressBar() {
  const tty = process.stderr.isTTY;
  const width = 24;
  let lastKey = '';
  let last: MetaSyncProgress | null = null;
  const draw = (p: MetaSyncProgress, done: number, what: string) => {
    const total = p.chunks + 1;
    const filled = Math.round((done / total) * width);
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${what} · ${fmt(p.ads)} ads · ${fmt(p.insightRows)} insight rows · ${fmt(p.pages)} pages`;
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else process.stderr.write(`${line}\n`);
  };
  return {
    update(p: MetaSyncProgress) {
      last = p;
      const key = `${p.phase}${p.chunk}`;
      if (!tty && key === lastKey) return;
      lastKey = key;
      const done = p.phase === 'ads' ? 0 : p.chunk + 1;
      draw(p, done, p.phase === 'ads' ? 'ads' : `insights ${p.chunkRange?.since ?? ''}…${p.chunkRange?.until ?? ''}`);
    },
    /** Ends the current line (before another message). */
    pause() {
      if (tty) process.stderr.write('\n');
      lastKey = '';
    },
    finish() {
      if (last) draw(last, last.chunks + 1, 'done');
      if (tty) process.stderr.write('\n');
    },
  };
}

export function registerMetaCommands(program: Command): void {
  const meta = program.command('meta').description('Meta Ads sync: ads, creatives and daily insights per tenant');

  meta
    .command('sync <slug>')
    .description('Sync one tenant now, in the foreground (default: its lookback window; --since backfills month by month)')
    .option(
      '--since <date>',
      "first insights date to (re-)pull, YYYY-MM-DD (a day of the ad account, as Meta reports it; not after today in the tenant's time zone)",
    )
    .option('--until <date>', 'last insights date, YYYY-MM-DD (default: today in the tenant time zone)')
    .action(async (slug: string, opts: { since?: string; until?: string }) => {
      const env = loadCliEnv();
      const keyring = keyringFromEnv(env);
      const admin = createDatabase({ url: env.DATABASE_URL, role: 'admin', max: 2, applicationName: 'mcb-cli' });
      // 3 for the sync's concurrent batch writes, 1 for the session holding its lock (withMetaSyncLock).
      const database = createDatabase({ url: env.DATABASE_URL, role: 'app', max: 4, applicationName: 'mcb-cli-meta' });
      const loader = createTenantContextLoader({ admin, keyring, listen: false });
      try {
        const target = metaTargetOf(await loader.getTenantContext(slug));
        const until = opts.until ? parseDate('--until', opts.until) : todayIn(target.timeZone);
        const range = opts.since ? { since: parseDate('--since', opts.since), until } : undefined;
        if (range && range.since > range.until)
          throw new McbError(
            'bad_request',
            `Invalid --since ${range.since}: after ${opts.until ? `--until ${range.until}` : `today in the tenant's time zone (${range.until}, ${target.timeZone})`}`,
          );
        const bar = progressBar();
        let checkpoint: MetaSyncCheckpoint | null = null;
        const totals = emptyMetaSyncTotals();
        const run = (lock: MetaSyncLock) =>
          runTenantMetaSync({
            database,
            target,
            settings: metaSettingsFromEnv(env),
            range,
            resumeFrom: checkpoint,
            totals,
            lock,
            onProgress: (p) => bar.update(p),
            onCheckpoint: (cp) => {
              checkpoint = cp;
            },
          });
        // One lock for the runs and the waits between them: a scheduled sync must not start in a rate-limit wait.
        const result = await withMetaSyncLock(database, target, async (lock) => {
          for (;;) {
            let done: MetaSyncResult;
            try {
              done = await run(lock);
            } catch (err) {
              bar.pause();
              if (err instanceof MetaRateLimited && err.waitMs <= maxForegroundWaitMs) {
                process.stderr.write(`Rate limited by Meta: resuming in ${Math.ceil(err.waitMs / 1000)} s…\n`);
                await sleep(err.waitMs);
                continue;
              }
              if (err instanceof MetaRateLimited)
                throw new Error(
                  `Rate limited by Meta for ${Math.ceil(err.waitMs / 60_000)} min: rows synced so far are kept; run again later`,
                );
              const lastError = metaSyncLastError(err);
              await markMetaSyncError(database, target.tenantId, lastError);
              throw new Error(`Meta sync failed for ${slug}: ${lastError}`);
            }
            await markMetaSyncSuccess(database, target.tenantId);
            return done;
          }
        }).catch((err: unknown) => {
          if (err instanceof MetaSyncAlreadyRunning)
            throw new Error(`A Meta sync of ${slug} is already running (another process); nothing done — try again when it ends`);
          throw err;
        });
        bar.finish();
        out(
          `Synced ${slug}: ${fmt(result.ads)} ads, ${fmt(result.creatives)} creatives, ${fmt(result.insightRows)} insight rows ` +
            `(${result.range.since} … ${result.range.until}, ${result.chunks} month chunk${result.chunks === 1 ? '' : 's'}, ` +
            `${fmt(result.requests)} requests${result.skipped ? `, ${result.skipped} skipped` : ''}) in ${(result.durationMs / 1000).toFixed(1)} s.\n`,
        );
      } finally {
        await loader.close();
        await Promise.all([database.close(), admin.close()]);
      }
    });

  const statusCommand = meta.command('status').description("Each tenant's Meta sync: last success, last error, stored rows");
  addFormatOptions(statusCommand, outputFormats, 'text', 'text is a table, json every integration').action(async (opts: FormatFlags) => {
    const format = resolveFormat(opts, outputFormats, 'text');
    const env = loadCliEnv();
    // Cross-tenant overview: a named admin path.
    const rows = await withAdminDatabase(
      env,
      (admin) =>
        admin.sql<
          Array<{
            slug: string;
            active: boolean;
            lastSuccessAt: Date | null;
            lastError: string | null;
            ads: number;
            insights: number;
            lastDate: string | null;
          }>
        >`
          select t.slug, (t.is_active and i.is_active) as active, i.last_success_at as "lastSuccessAt", i.last_error as "lastError",
                 (select count(*) from meta_ads a where a.tenant_id = t.id)::int as ads,
                 (select count(*) from meta_ad_insights x where x.tenant_id = t.id)::int as insights,
                 (select max(date)::text from meta_ad_insights x where x.tenant_id = t.id) as "lastDate"
          from tenants t join tenant_integrations i on i.tenant_id = t.id and i.provider = 'meta'
          order by t.slug`,
    );
    if (format === 'json') {
      // ADR 0021: snake_case, every key present, an empty list when no tenant has the integration.
      const integrations = rows.map((r) => ({
        tenant: r.slug,
        active: r.active,
        last_success_at: r.lastSuccessAt,
        last_error: r.lastError,
        ads: r.ads,
        insight_rows: r.insights,
        last_day: r.lastDate,
      }));
      return void process.stdout.write(`${printableJson({ integrations })}\n`);
    }
    if (rows.length === 0) {
      out(
        'No tenant has a meta integration (add one: mcb integration set <slug> meta --credentials \'{"access_token":"…","ad_account_id":"act_…"}\').\n',
      );
      return;
    }
    out(
      formatTable(
        ['TENANT', 'ACTIVE', 'LAST SUCCESS', 'ADS', 'INSIGHT ROWS', 'LAST DAY', 'LAST ERROR'],
        rows.map((r) => [
          r.slug,
          r.active ? 'yes' : 'no',
          r.lastSuccessAt ? `${r.lastSuccessAt.toISOString().slice(0, 19)}Z` : 'never',
          fmt(r.ads),
          fmt(r.insights),
          r.lastDate ?? '-',
          r.lastError ? r.lastError.slice(0, 80) : '-',
        ]),
      ),
    );
  });
}
