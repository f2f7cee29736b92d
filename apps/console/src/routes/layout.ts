import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/** What a page helper returns: hono's escaped HTML (every `${…}` in an `html` template is escaped unless `raw`). */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** The console's one stylesheet (log pages, stats page, sign-in form). */
export const styles = raw(`
  body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
  header{background:#1f2937;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:center}
  header a{color:#cfe0ff;text-decoration:none} header strong{margin-right:12px}
  main{padding:16px 20px} h1{font-size:18px;margin:4px 0 12px}
  form.search{display:flex;flex-wrap:wrap;gap:8px;align-items:end;background:#fff;padding:12px;border:1px solid #dde1e6;border-radius:6px}
  label{display:flex;flex-direction:column;font-size:12px;color:#555} input,select{font:inherit;padding:4px 6px}
  table{border-collapse:collapse;width:100%;background:#fff;margin-top:12px} th,td{border-bottom:1px solid #e5e7eb;padding:5px 8px;text-align:left;vertical-align:top}
  th{background:#f0f2f5;font-size:12px} td.err{color:#a3202b;max-width:420px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
  .st{padding:1px 6px;border-radius:8px;font-size:12px;background:#e5e7eb} .st-failed,.st-rejected{background:#fde2e2;color:#a3202b}
  .st-processed{background:#ddf5e3;color:#17692f} .st-ignored{background:#eee;color:#666} .st-received,.st-processing{background:#e0ecff;color:#1d4ed8}
  pre{background:#fff;border:1px solid #dde1e6;padding:10px;overflow:auto;max-height:420px}
  .flash{background:#ddf5e3;border:1px solid #9bd3aa;padding:8px 12px;border-radius:6px;margin-bottom:12px}
  .error{background:#fde2e2;border:1px solid #f3a5a5;padding:8px 12px;border-radius:6px;margin-bottom:12px}
  .note{display:block;font-size:12px;color:#666} tr.total td{font-weight:600;background:#f6f7f9} th.group{text-align:center;border-left:1px solid #dde1e6}
  button{font:inherit;padding:5px 12px;cursor:pointer} .grid{display:grid;grid-template-columns:160px 1fr;gap:4px 12px;background:#fff;padding:12px;border:1px solid #dde1e6}
`);

/** A console page under `/admin`: the header with the navigation and the sign-out button, then `body`. */
export function layout(title: string, body: Html): Html {
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
        <header>
          <strong>MCB console</strong><a href="/admin/logs">Logs</a><a href="/admin/stats">Stats</a><a href="/admin/queues">Queues</a>
          <form method="post" action="/logout" style="margin-left:auto"><button type="submit">Sign out</button></form>
        </header>
        <main>${body}</main>
      </body>
    </html>`;
}

/** A log status as a coloured badge. */
export const badge = (status: string) => html`<span class="st st-${status}">${status}</span>`;

/** `<option>`s for a filter `<select>`: a blank first (`blank` is its label), `selected` marked. */
export function options(values: readonly string[], selected: string | undefined, blank: string): Html {
  return html`<option value="">${blank}</option>${values.map(
    (v) => html`<option value="${v}" ${v === selected ? 'selected' : ''}>${v}</option>`,
  )}`;
}

/** The page of an error a browser gets (`wantsPage`): what happened and the request id, escaped. */
export function errorPage(message: string, requestId: string | undefined): Html {
  return layout(
    'Error',
    html`<p class="error">${message}</p>
      <p class="note">Request id ${requestId ?? '-'}: it is in the console's log line for this request.</p>`,
  );
}
