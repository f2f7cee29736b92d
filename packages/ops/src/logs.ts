import {
  type Database,
  findWebhookLogTenants,
  getWebhookLogDetail,
  type Queryable,
  searchWebhookLogs,
  type WebhookLogCursor,
  type WebhookLogDetail,
  type WebhookLogFilter,
  type WebhookLogPage,
  withTenantSql,
} from '@mcb/db';
import { maskBodySecretText } from '@mcb/sources';
import { linkedContactIds } from './log-outcome';

/**
 * The two pools of an operator tool (console, `mcb logs` / `log` / `replay`), ADR 0002:
 * - `admin` (`mcb_admin`, no RLS): only lists across tenants, resolving a slug or a log id to its
 *   tenant, and tenant management;
 * - `app` (`mcb_app`, RLS): every read and write of one tenant's data, with that tenant set, so
 *   Postgres — not a `tenant_id` filter in the query — keeps other tenants out.
 */
export interface OperatorDatabases {
  admin: Database;
  app: Database;
}

function checkRoles(dbs: OperatorDatabases): void {
  if (dbs.admin.role !== 'admin') throw new Error(`Operator admin pool must have the admin role (got ${dbs.admin.role})`);
  if (dbs.app.role !== 'app') throw new Error(`Operator tenant pool must have the app role (got ${dbs.app.role})`);
}

/**
 * Runs `fn` where operators read logs: with `tenantId`, in one transaction on the `app` pool with the
 * tenant set (row-level security enforces it whatever `fn` selects); without, on the `admin` pool
 * across tenants. Throws when a pool has the wrong role.
 */
export async function withLogScope<T>(
  dbs: OperatorDatabases,
  tenantId: string | undefined,
  fn: (sql: Queryable) => Promise<T>,
): Promise<T> {
  checkRoles(dbs);
  return tenantId ? withTenantSql(dbs.app.sql, tenantId, fn) : fn(dbs.admin.sql);
}

/** One page of the log search (`searchWebhookLogs`): one tenant under RLS when the filter names one, else across tenants. */
export async function searchLogs(
  dbs: OperatorDatabases,
  filter: WebhookLogFilter,
  page: { cursor?: WebhookLogCursor | null; limit?: number } = {},
): Promise<WebhookLogPage> {
  return withLogScope(dbs, filter.tenantId, (sql) => searchWebhookLogs(sql, filter, page));
}

/**
 * One log with what it produced, or null: the log id is resolved to its tenant on the admin pool (the
 * only cross-tenant step), then everything is read under that tenant on the app pool. Every way an
 * operator sees a log (`mcb log`, the console's page and API) comes through here: its raw body has body
 * secrets masked again on the way out (as its headers are), for rows stored before the intake knew a
 * spelling of the name (`"secret\u005fkey"` was stored as sent until stop 37).
 */
export async function openLog(dbs: OperatorDatabases, id: number): Promise<OperatorLogDetail | null> {
  checkRoles(dbs);
  const [log] = await findWebhookLogTenants(dbs.admin.sql, [id]);
  const detail = log ? await withLogScope(dbs, log.tenantId, (sql) => getWebhookLogDetail(sql, id)) : null;
  if (!detail) return null;
  return {
    ...detail,
    rawBody: detail.rawBody === null ? null : maskBodySecretText(detail.rawBody),
    linkedContactIds: linkedContactIds(detail),
  };
}

/** A log as operators see it (`openLog`): the stored detail, and the contacts what it booked was linked to later. */
export interface OperatorLogDetail extends WebhookLogDetail {
  /** Contacts its payments and funnel events belong to now, other than `contactId` (`linkedContactIds`). */
  linkedContactIds: string[];
}
