import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { McbError } from '@mcb/core';
import { createDatabase, type Database } from '@mcb/db';
import {
  assertWeekStarted,
  buildWeeklyReport,
  createReportMailer,
  loadReportTenant,
  type ReportTenant,
  reportMailerConfigFromEnv,
  resolveReportWeek,
  sendWeeklyReport,
} from '@mcb/reports';
import { getTenantBySlug } from '@mcb/tenancy';
import type { Command } from 'commander';
import { loadCliEnv, withAdminDatabase } from '../env';
import { addFormatOptions, type FormatFlags, resolveFormat } from '../format-option';
import { printable, printableJson } from '../output';

const out = (text: string) => process.stdout.write(text);
const err = (text: string) => process.stderr.write(text);
const formats = ['html', 'text', 'json'] as const;

/** Resolves the slug (admin path, any status), then runs `fn` with an app-role connection (RLS). */
async function withReportTenant<T>(slug: string, fn: (database: Database, tenant: ReportTenant) => Promise<T>): Promise<T> {
  const env = loadCliEnv();
  const id = await withAdminDatabase(env, async (admin) => (await getTenantBySlug(admin, slug)).id);
  const database = createDatabase({ url: env.DATABASE_URL, role: 'app', max: 2, applicationName: 'mcb-cli-report' });
  try {
    return await fn(database, await loadReportTenant(database, id));
  } finally {
    await database.close();
  }
}

/**
 * Writes `--out`; a file that cannot be written is one line naming why (the folder that does not exist,
 * a folder given as the file, no permission), not Node's `ENOENT: no such file or directory, open …`.
 */
async function writeOutFile(file: string, body: string): Promise<void> {
  try {
    await writeFile(file, body);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? `folder ${dirname(file)} does not exist (create it first, or pick another --out)`
        : code === 'ENOTDIR'
          ? `a part of ${dirname(file)} is a file, not a folder`
          : code === 'EISDIR'
            ? 'it is a folder: give a file name'
            : code === 'EACCES' || code === 'EPERM'
              ? 'permission denied'
              : (e as Error).message;
    throw new McbError('bad_request', `Cannot write --out ${file}: ${why}`);
  }
}

/**
 * What `report preview` prints when no format is asked for: the email (html) into a file or a pipe, its
 * plain-text part on a terminal (20 KB of one-line HTML with zero-width preheader characters was printed
 * there; walk of the README, stop 34).
 */
export function previewDefaultFormat(stdoutIsTerminal: boolean, out: string | undefined): (typeof formats)[number] {
  return stdoutIsTerminal && !out ? 'text' : 'html';
}

export function registerReportCommands(program: Command): void {
  const report = program.command('report').description('Weekly reports: preview the figures and the email, send by hand');

  const preview = report
    .command('preview <slug>')
    .description('Render a tenant’s weekly report without sending it (default: the last full week in the tenant’s zone)')
    .option(
      '--week <date>',
      'any date (YYYY-MM-DD) of the week to report, Monday–Sunday in the tenant’s zone; the running week reads "so far", a week not started is refused',
    )
    .option('--out <file>', 'write to this file instead of stdout');
  addFormatOptions(
    preview,
    formats,
    // What `previewDefaultFormat` picks (the help said "default html" on a terminal too: docs walk, stop 37).
    'text on a terminal, html to a file or a pipe',
    'html is the email, text its plain-text part, json the figures (the same numbers the email shows)',
  ).action(async (slug: string, opts: { week?: string; out?: string } & FormatFlags) => {
    const fallback = previewDefaultFormat(Boolean(process.stdout.isTTY), opts.out);
    const format = resolveFormat(opts, formats, fallback);
    if (format === 'text' && fallback === 'text' && !opts.format)
      err('The report as text (a terminal reads no HTML): --format html, or --out report.html, for the email itself\n');
    await withReportTenant(slug, async (database, tenant) => {
      const week = resolveReportWeek(tenant, opts.week);
      // The running week renders "so far"; one not started has nothing to show (send refuses it too).
      assertWeekStarted(slug, week);
      const rendered = await buildWeeklyReport(database, tenant, week);
      const body = format === 'json' ? `${JSON.stringify(rendered.figures, null, 2)}\n` : format === 'text' ? rendered.text : rendered.html;
      if (opts.out) {
        const file = resolve(opts.out);
        await writeOutFile(file, body);
        err(`Wrote ${file}\nSubject: ${printable(rendered.subject)}\n`);
      } else {
        // To a terminal: ad ids and names come from webhooks and Meta; control characters are shown escaped.
        out(format === 'json' ? `${printableJson(rendered.figures)}\n` : printable(body, { multiline: true, keepBackslashes: true }));
      }
    });
  });

  report
    .command('send <slug>')
    .description(
      'Send a tenant’s weekly report now, for a week that has ended (at most once per week: a second run sends nothing and says so)',
    )
    .option(
      '--week <date>',
      'any date (YYYY-MM-DD) of an ended week to send (default: the last full week in the tenant’s zone); the running week is refused: preview it',
    )
    .option('--before-created', 'send a week that ended before the tenant was added (refused otherwise: a report is sent once)')
    .action(async (slug: string, opts: { week?: string; beforeCreated?: boolean }) => {
      const env = loadCliEnv();
      await withReportTenant(slug, async (database, tenant) => {
        if (!tenant.isActive) throw new McbError('bad_request', `Tenant ${slug} is inactive: activate it before sending reports`);
        const result = await sendWeeklyReport({
          database,
          mailer: createReportMailer(reportMailerConfigFromEnv(env)),
          from: env.REPORT_FROM,
          tenantId: tenant.id,
          week: opts.week,
          beforeCreated: opts.beforeCreated ? 'send' : 'refuse',
        });
        const week = resolveReportWeek(tenant, result.weekStart);
        const period = `week ${week.weekStart} – ${week.weekEnd} (${week.timezone})`;
        switch (result.status) {
          case 'sent': {
            const n = result.recipients.length;
            const where =
              result.delivery.kind === 'outbox'
                ? `written to the outbox (no RESEND_API_KEY): ${result.delivery.files.html}`
                : result.delivery.kind === 'resend'
                  ? `sent with Resend, id ${result.delivery.messageId}`
                  : 'already accepted by Resend earlier under the same idempotency key';
            out(
              `Weekly report for ${slug}, ${period}, to ${n} recipient${n === 1 ? '' : 's'}: ${where}\nSubject: ${printable(result.subject)}\n`,
            );
            break;
          }
          case 'already_sent':
            out(
              `Already sent: the weekly report for ${slug}, ${period}, went out${result.sentAt ? ` at ${result.sentAt.toISOString()}` : ''}. Nothing sent.\n`,
            );
            break;
          case 'in_progress':
            out(`In progress: another sender is on the weekly report for ${slug}, ${period}. Nothing sent.\n`);
            break;
          case 'skipped':
            out(`Skipped: ${slug} has no report_email and no config.report.recipients. Nothing sent.\n`);
            break;
        }
      });
    });
}
