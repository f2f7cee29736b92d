import { parseJsonExact, redactHeaders } from '@mcb/core';
import type { Source as WebhookSource } from '@mcb/sources/domain';
import type { PendingQuery, Row } from 'postgres';
import { toWebhookLog, type WebhookLogRow, type WebhookStatus } from '../schema/webhook-logs';
import type { Queryable } from '../tenant-scope';

/**
 * Filters of the operator search (console API, log browser, `mcb logs`, `mcb replay`).
 * All optional; `since` inclusive, `until` exclusive, on `received_at`.
 */
export interface WebhookLogFilter {
  /** One tenant's logs: run the query on an `app` pool under this tenant (`withTenantSql`, ADR 0002). */
  tenantId?: string;
  source?: WebhookSource;
  status?: WebhookStatus;
  /** Statuses left out (replay leaves out `rejected`). */
  excludeStatuses?: WebhookStatus[];
  since?: Date;
  until?: Date;
  /** Text in event type, dedupe key, or the payload's ids and emails; a number also matches the log id. */
  q?: string;
}

/** One row of a search result: no payload, no headers. */
export interface WebhookLogSummary {
  id: number;
  tenantId: string;
  tenantSlug: string;
  source: WebhookSource;
  eventType: string | null;
  status: WebhookStatus;
  dedupeKey: string;
  attempts: number;
  errorMessage: string | null;
  receivedAt: Date;
  enqueuedAt: Date | null;
  processedAt: Date | null;
  /**
   * While `failed`: when the retry BullMQ was asked for is due; null when the failure is final (no retry
   * pending). Meaningless in any other status (a row keeps the value of its last failure).
   */
  retryAt: Date | null;
  contactId: string | null;
}

/** A position in the (received_at desc, id desc) order. */
export interface WebhookLogCursor {
  receivedAt: Date;
  id: number;
}

/** Opaque cursor text for URLs: base64url of `<epoch micros as ISO>|<id>`. */
export function encodeLogCursor(cursor: WebhookLogCursor): string {
  return Buffer.from(`${cursor.receivedAt.toISOString()}|${cursor.id}`).toString('base64url');
}

/** Inverse of `encodeLogCursor`; null for anything malformed. */
export function decodeLogCursor(text: string): WebhookLogCursor | null {
  const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)\|(\d{1,18})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!m) return null;
  const receivedAt = new Date(m[1] as string);
  const id = Number(m[2]);
  return Number.isNaN(receivedAt.getTime()) || !Number.isSafeInteger(id) ? null : { receivedAt, id };
}

/** Escapes LIKE wildcards so operator text matches literally. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

// Text lives in webhook_log_search (trigram index), filled by triggers once a worker picks a log up
// (or at once for rejected logs, drizzle/0010): a log still waiting in its queue is not found by `q`.
// One tenant's search runs under RLS and reads the view webhook_log_search_in_tenant, whose rows are
// the current tenant's and whose LIKE may use the trigram index (drizzle/0018); matching on the log id
// alone keeps its tenant filter apart from the policy of webhook_logs. Across tenants (admin): the table.
function searchCondition(sql: Queryable, q: string, tenantId?: string): PendingQuery<Row[]> {
  const pattern = `%${escapeLike(q.trim().toLowerCase())}%`;
  const text = tenantId
    ? sql`l.id in (select s.log_id from webhook_log_search_in_tenant s where s.search_text like ${pattern})`
    : sql`(l.tenant_id, l.id) in (select s.tenant_id, s.log_id from webhook_log_search s where s.search_text like ${pattern})`;
  return /^\d{1,15}$/.test(q.trim()) ? sql`(l.id = ${Number(q.trim())} or ${text})` : text;
}

/** The WHERE clause of a filter over `webhook_logs l` (composable postgres.js fragment). */
export function webhookLogWhere(sql: Queryable, filter: WebhookLogFilter): PendingQuery<Row[]> {
  const parts: PendingQuery<Row[]>[] = [];
  if (filter.tenantId) parts.push(sql`l.tenant_id = ${filter.tenantId}`);
  if (filter.source) parts.push(sql`l.source = ${filter.source}`);
  if (filter.status) parts.push(sql`l.status = ${filter.status}`);
  if (filter.excludeStatuses?.length) parts.push(sql`l.status <> all(${filter.excludeStatuses}::text[])`);
  if (filter.since) parts.push(sql`l.received_at >= ${filter.since}`);
  if (filter.until) parts.push(sql`l.received_at < ${filter.until}`);
  if (filter.q?.trim()) parts.push(searchCondition(sql, filter.q, filter.tenantId));
  if (parts.length === 0) return sql`true`;
  return parts.reduce((all, part) => sql`${all} and ${part}`);
}

const summaryColumns = (sql: Queryable) => sql`
  l.id, l.tenant_id, t.slug as tenant_slug, l.source, l.event_type, l.status, l.dedupe_key, l.attempts,
  left(l.error_message, 500) as error_message, l.received_at, l.enqueued_at, l.processed_at, l.retry_at, l.contact_id`;

type SummaryRow = Pick<
  WebhookLogRow,
  | 'id'
  | 'tenant_id'
  | 'source'
  | 'event_type'
  | 'status'
  | 'dedupe_key'
  | 'attempts'
  | 'error_message'
  | 'received_at'
  | 'enqueued_at'
  | 'processed_at'
  | 'retry_at'
  | 'contact_id'
> & { tenant_slug: string };

function toSummary(row: SummaryRow): WebhookLogSummary {
  const { id, tenantId, ...rest } = toWebhookLog(row);
  return { id, tenantId, tenantSlug: row.tenant_slug, ...rest };
}

export interface WebhookLogPage {
  items: WebhookLogSummary[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/**
 * Newest first, keyset-paginated on (received_at, id): the cost of a page does not grow with
 * its depth. One tenant (`filter.tenantId`): on an `app` pool under that tenant; across tenants: on an
 * admin (`mcb_admin`) connection.
 */
export async function searchWebhookLogs(
  sql: Queryable,
  filter: WebhookLogFilter,
  page: { cursor?: WebhookLogCursor | null; limit?: number } = {},
): Promise<WebhookLogPage> {
  const limit = Math.min(Math.max(page.limit ?? 50, 1), 500);
  const after = page.cursor ? sql`and (l.received_at, l.id) < (${page.cursor.receivedAt}, ${page.cursor.id})` : sql``;
  const rows = await sql<SummaryRow[]>`
    select ${summaryColumns(sql)}
    from webhook_logs l join tenants t on t.id = l.tenant_id
    where ${webhookLogWhere(sql, filter)} ${after}
    order by l.received_at desc, l.id desc
    limit ${limit + 1}`;
  const items = rows.slice(0, limit).map(toSummary);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeLogCursor({ receivedAt: last.receivedAt, id: last.id }) : null };
}

/** How many logs match (the dry-run figure of a bulk replay). */
export async function countWebhookLogs(sql: Queryable, filter: WebhookLogFilter): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from webhook_logs l where ${webhookLogWhere(sql, filter)}`;
  return row?.n ?? 0;
}

/**
 * One batch of matching logs, oldest first, after position `after` (null: from the first). Bulk replay
 * walks (received_at, id) ascending batch by batch, so rows whose status changes while it runs are
 * neither skipped nor visited twice. One tenant: on an `app` pool under it; across tenants: admin.
 */
export async function listWebhookLogsAfter(
  sql: Queryable,
  filter: WebhookLogFilter,
  after: WebhookLogCursor | null,
  limit: number,
): Promise<WebhookLogSummary[]> {
  const position = after ? sql`and (l.received_at, l.id) > (${after.receivedAt}, ${after.id})` : sql``;
  const rows = await sql<SummaryRow[]>`
    select ${summaryColumns(sql)}
    from webhook_logs l join tenants t on t.id = l.tenant_id
    where ${webhookLogWhere(sql, filter)} ${position}
    order by l.received_at, l.id
    limit ${limit}`;
  return rows.map(toSummary);
}

/** One log with everything an operator needs to judge it, and what it produced. */
export interface WebhookLogDetail extends WebhookLogSummary {
  tenantName: string;
  /** Stored headers, redacted again on the way out (secrets and signatures never leave). */
  headers: Record<string, string>;
  payload: unknown;
  /** The stored raw bytes (exact body, or a rejected row's prefix) as text for display: invalid UTF-8 shown as U+FFFD. */
  rawBody: string | null;
  errorMessage: string | null;
  contact: Record<string, unknown> | null;
  funnelEvents: Array<Record<string, unknown>>;
  payments: Array<Record<string, unknown>>;
  /**
   * Payment status changes this log made (`payment_status_changes` by `webhook_log_id`: a Stripe dispute,
   * a failed async payment, a Denefits contract status), oldest first: a log that changed a sale's status
   * books no payment of its own.
   */
  paymentStatusChanges: Array<{ payment_ref: string; status: string; occurred_at: Date }>;
  /** What was sent to Meta's Conversions API for this log's funnel events (payloads hashed; issue 17). */
  capiSends: Array<Record<string, unknown>>;
}

/**
 * The tenant of each of these logs (ids that match no log are left out), oldest first: the one
 * cross-tenant step of opening or replaying logs by id (admin connection; `webhook_logs_id_idx`).
 * Everything else of a log is then read and written under its tenant.
 */
export async function findWebhookLogTenants(sql: Queryable, ids: number[]): Promise<Array<{ id: number; tenantId: string }>> {
  const rows = await sql<Pick<WebhookLogRow, 'id' | 'tenant_id'>[]>`
    select id, tenant_id from webhook_logs where id = any(${ids}::bigint[]) order by received_at, id`;
  return rows.map(toWebhookLog);
}

/**
 * The log with id `id` and what it produced, or null. Run it on an `app` pool under the log's tenant
 * (`findWebhookLogTenants`): a log of another tenant is not found.
 */
export async function getWebhookLogDetail(sql: Queryable, id: number): Promise<WebhookLogDetail | null> {
  const [row] = await sql<
    (SummaryRow &
      Pick<WebhookLogRow, 'headers' | 'payload' | 'raw_body'> & {
        tenant_name: string;
        full_error: string | null;
      })[]
  >`
    select ${summaryColumns(sql)}, t.name as tenant_name, l.headers, l.payload::text as payload, l.raw_body, l.error_message as full_error
    from webhook_logs l join tenants t on t.id = l.tenant_id
    where l.id = ${id}`;
  if (!row) return null;
  const { headers, payload, raw_body, tenant_name, full_error, ...summary } = row;
  const [contacts, funnelEvents, payments, statusChanges, capiSends] = await Promise.all([
    row.contact_id
      ? sql`
          select id, mc_id, ghl_id, email_primary, email_booking, email_payment, phone, first_name, last_name,
                 ig_username, stripe_customer_id, stage, source, ad_id, merged_into_id, created_at, updated_at
          from contacts where tenant_id = ${row.tenant_id} and id = ${row.contact_id}`
      : Promise.resolve([]),
    sql`
      select id, contact_id, event_type, occurred_at, source, source_event_id, data, created_at
      from funnel_events where tenant_id = ${row.tenant_id} and webhook_log_id = ${id} order by occurred_at, id`,
    sql`
      select id, contact_id, payment_event_id, source, payment_type, category, amount_cents, currency, status,
             customer_email, paid_at, created_at
      from payments where tenant_id = ${row.tenant_id} and webhook_log_id = ${id} order by paid_at, id`,
    sql<WebhookLogDetail['paymentStatusChanges']>`
      select payment_ref, status, occurred_at
      from payment_status_changes where tenant_id = ${row.tenant_id} and webhook_log_id = ${id} order by occurred_at, payment_ref`,
    sql`
      select funnel_event_id, event_name, event_id, event_time, status, reason, events_received, fbtrace_id, sent_at, payload
      from capi_sends where tenant_id = ${row.tenant_id} and webhook_log_id = ${id} order by id`,
  ]);
  return {
    ...toSummary(summary),
    errorMessage: full_error,
    tenantName: tenant_name,
    headers: redactHeaders(headers ?? {}),
    // Read from its text: an id past 2^53 shows its exact digits, as the worker reads it (parseJsonExact).
    payload: typeof payload === 'string' ? parseJsonExact(payload) : payload,
    rawBody: raw_body === null ? null : new TextDecoder().decode(raw_body),
    contact: (contacts[0] as Record<string, unknown> | undefined) ?? null,
    funnelEvents: [...funnelEvents],
    payments: [...payments],
    paymentStatusChanges: [...statusChanges],
    capiSends: [...capiSends],
  };
}
