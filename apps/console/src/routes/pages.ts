import { McbError } from '@mcb/core';
import { type Database, decodeLogCursor, type WebhookLogPage, webhookStatuses } from '@mcb/db';
import {
  describeEmptyLogSearch,
  describeLogContact,
  describeLogOutcome,
  describeLogStatus,
  formatLogTime,
  listTenantRefs,
  logMessageLabel,
  openLog,
  replaySkipReasons,
  replayWebhookLogIds,
  resolveLogFilter,
  searchLogs,
} from '@mcb/ops';
import type { WebhookEnqueuer } from '@mcb/queue';
import { sources } from '@mcb/sources';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { type ConsoleEnv, parseId } from '../http';
import { badge, type Html, layout, options, styles } from './layout';

const time = (d: Date | null | undefined) => (d ? formatLogTime(d) : '');
/** Why intake refused a delivery, from the code its error starts with (`buildRejectedRow`: "<code>: <reason>"). */
const rejectionCauses: Record<string, string> = {
  missing_credentials: 'no secret or credentials: failed authentication',
  invalid_signature: 'failed authentication',
  invalid_json: 'the body is not JSON',
  invalid_payload: 'the body is not the shape this source sends',
};
function rejectionCause(error: string | null): string {
  const code = error?.split(':', 1)[0] ?? '';
  return Object.hasOwn(rejectionCauses, code) ? (rejectionCauses[code] as string) : 'see its error below';
}
const json = (value: unknown) => JSON.stringify(value, null, 2);

const queueUnavailable = 'queue_unavailable';
/** The message of a replay outcome code (`?replayed=`): a skip reason of @mcb/ops, or the queue being down; null for anything else. */
function replayOutcomeMessage(code: string): string | null {
  if (code === queueUnavailable) return 'queue unavailable, left for the reconciler';
  return Object.hasOwn(replaySkipReasons, code) ? `not replayed: ${replaySkipReasons[code as keyof typeof replaySkipReasons]}` : null;
}

/** Server-rendered log browser under `/admin/logs` (behind auth): search, open one, replay it. */
export function createLogPages(deps: { admin: Database; app: Database; enqueuer: WebhookEnqueuer }) {
  const pages = new Hono<ConsoleEnv>();

  pages.get('/', async (c) => {
    const query = c.req.query();
    const { cursor, ...filterInput } = query;
    const tenants = await listTenantRefs(deps.admin);
    let page: WebhookLogPage = { items: [], nextCursor: null };
    let error: string | null = null;
    try {
      const filter = await resolveLogFilter(deps.admin, Object.fromEntries(Object.entries(filterInput).filter(([, v]) => v !== '')));
      page = await searchLogs(deps, filter, { cursor: cursor ? decodeLogCursor(cursor) : null, limit: 50 });
    } catch (err) {
      if (!(err instanceof McbError)) throw err;
      error = err.message;
    }
    const next = page.nextCursor ? `?${new URLSearchParams({ ...filterInput, cursor: page.nextCursor }).toString()}` : null;
    return c.html(
      layout(
        'Webhook logs',
        html`<h1>Webhook logs</h1>
          ${error ? html`<div class="error">${error}</div>` : ''}
          <form class="search" method="get" action="/admin/logs">
            <label>Tenant<select name="tenant">${options(
              tenants.map((t) => t.slug),
              query.tenant,
              'all tenants',
            )}</select></label>
            <label>Source<select name="source">${options(sources, query.source, 'any')}</select></label>
            <label>Status<select name="status">${options(webhookStatuses, query.status, 'any')}</select></label>
            <label>Since<input name="since" value="${query.since ?? ''}" placeholder="24h or 2026-11-01" size="12" /></label>
            <label>Until<input name="until" value="${query.until ?? ''}" placeholder="date" size="12" /></label>
            <label>Text (event type, id, email)<input name="q" value="${query.q ?? ''}" size="28" /></label>
            <button type="submit">Search</button>
          </form>
          <table id="results">
            <thead>
              <tr><th>id</th><th>received</th><th>tenant</th><th>source</th><th>event type</th><th>status</th><th>attempts</th><th>error</th></tr>
            </thead>
            <tbody>
              ${page.items.map(
                (l) => html`<tr>
                  <td><a href="/admin/logs/${l.id}">${l.id}</a></td><td>${time(l.receivedAt)}</td><td>${l.tenantSlug}</td>
                  <td>${l.source}</td><td>${l.eventType ?? ''}</td><td>${badge(l.status)}</td><td>${l.attempts}</td>
                  <td class="err" title="${l.errorMessage ?? ''}">${l.errorMessage ?? ''}</td>
                </tr>`,
              )}
            </tbody>
          </table>
          <p>${page.items.length === 0 ? (error ? '' : describeEmptyLogSearch(filterInput)) : `${page.items.length} shown.`} ${next ? html`<a href="${next}">Older →</a>` : ''}</p>`,
      ),
    );
  });

  pages.get('/:id', async (c) => {
    const id = parseId(c.req.param('id'));
    const log = id ? await openLog(deps, id) : null;
    if (!log) return c.html(layout('Not found', html`<div class="error">No webhook log ${c.req.param('id')}</div>`), 404);
    // The outcome comes back as a code from a fixed set (POST /:id/replay): a link can carry any text in the
    // query string, and nothing it carries is shown.
    const replayed = c.req.query('replayed');
    const replayProblem = replayed && replayed !== 'enqueued' ? replayOutcomeMessage(replayed) : null;
    return c.html(
      layout(
        `Log ${log.id}`,
        html`<h1>Webhook log ${log.id} ${badge(log.status)}</h1>
          ${
            replayed === 'enqueued'
              ? html`<div class="flash">Replay queued (enqueued). Status was reset to <b>received</b>; refresh to follow it.</div>`
              : replayProblem
                ? html`<div class="error">Replay: ${replayProblem}.</div>`
                : ''
          }
          ${
            log.status === 'rejected'
              ? html`<p class="error">Rejected: this delivery was refused at intake (${rejectionCause(log.errorMessage)}). It is kept as evidence and is never replayed.</p>`
              : html`<form method="post" action="/admin/logs/${log.id}/replay"><button type="submit" id="replay">Replay this log</button></form>`
          }
          <div class="grid">
            <b>tenant</b><span>${log.tenantSlug} (${log.tenantName})</span> <b>source</b><span>${log.source}</span>
            <b>event type</b><span>${log.eventType ?? ''}</span> <b>dedupe key</b><span>${log.dedupeKey}</span>
            <b>status</b><span>${describeLogStatus(log)}</span> <b>attempts</b><span>${log.attempts}</span>
            <b>received</b><span>${time(log.receivedAt)}</span> <b>enqueued</b><span>${time(log.enqueuedAt)}</span>
            <b>processed</b><span>${time(log.processedAt)}</span> <b>${logMessageLabel(log.status)}</b><span class="${log.status === 'processed' ? '' : 'error-text'}">${log.errorMessage ?? ''}</span>
          </div>
          <h2>Produced</h2>
          <p>Contact: ${describeLogContact(log) ?? 'none'}</p>
          ${log.contact ? html`<pre>${json(log.contact)}</pre>` : ''}
          <p id="outcome">${describeLogOutcome(log).map((line, i) => html`${i ? html`<br />` : ''}${line}`)}</p>
          ${log.funnelEvents.length ? html`<pre>${json(log.funnelEvents)}</pre>` : ''}
          ${log.payments.length ? html`<pre>${json(log.payments)}</pre>` : ''}
          ${log.paymentStatusChanges.length ? html`<pre id="payment-status-changes">${json(log.paymentStatusChanges)}</pre>` : ''}
          <h2>Sent to Meta (Conversions API)</h2>
          <p>${
            log.capiSends.length
              ? `${log.capiSends.length} event${log.capiSends.length === 1 ? '' : 's'}: ${log.capiSends.map((c) => `${c.event_name} ${c.status}`).join(', ')}`
              : 'nothing'
          }</p>
          ${log.capiSends.length ? html`<pre id="capi-sends">${json(log.capiSends)}</pre>` : ''}
          <h2>Headers (redacted)</h2>
          <pre>${json(log.headers)}</pre>
          <h2>Payload</h2>
          <pre>${log.payload !== null ? json(log.payload) : (log.rawBody ?? '')}</pre>`,
      ),
    );
  });

  pages.post('/:id/replay', async (c) => {
    const id = parseId(c.req.param('id'));
    const summary = id ? await replayWebhookLogIds(deps, [id]) : null;
    if (!summary || summary.matched === 0)
      return c.html(layout('Not found', html`<div class="error">No webhook log ${c.req.param('id')}</div>`), 404);
    const outcome = summary.replayed ? 'enqueued' : (summary.skipped[0]?.reason ?? queueUnavailable);
    return c.redirect(`/admin/logs/${id}?replayed=${encodeURIComponent(outcome)}`, 303);
  });

  return pages;
}

/** A page of its own outside the console's layout (signing in and out), `body` in a narrow column. */
function standalonePage(title: string, body: Html): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>${title} · MCB console</title>
        <style>
          ${styles}
        </style>
      </head>
      <body>
        <main style="max-width:360px;margin:80px auto">
          <h1>MCB console</h1>
          ${body}
        </main>
      </body>
    </html>`;
}

/** The sign-in form (outside `/admin`: the one page that answers without a token). */
export function loginPage(next: string, error?: string): Html {
  return standalonePage(
    'Sign in',
    html`${error ? html`<div class="error">${error}</div>` : ''}
      <form method="post" action="/login" class="grid" style="grid-template-columns:1fr">
        <label>Admin token<input type="password" name="token" autocomplete="current-password" autofocus /></label>
        <input type="hidden" name="next" value="${next}" />
        <button type="submit">Sign in</button>
      </form>`,
  );
}

/**
 * What `GET /logout` shows (Bull Board's "Sign out" link): a button that signs out by POST. A GET signs
 * nobody out, so a link or an image on another page cannot end the operator's session.
 */
export function logoutPage(): Html {
  return standalonePage(
    'Sign out',
    html`<form method="post" action="/logout" class="grid" style="grid-template-columns:1fr">
      <button type="submit" autofocus>Sign out</button>
    </form>
    <p><a href="/admin/logs">Back to the console</a></p>`,
  );
}
