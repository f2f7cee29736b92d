import { randomBytes } from 'node:crypto';
import type { Database } from '@mcb/db';

/** A fresh tenant with a unique slug (tests never share rows). */
export async function createTenant(admin: Database, prefix = 'con'): Promise<{ id: string; slug: string }> {
  const slug = `${prefix}-${randomBytes(5).toString('hex')}`;
  const [row] = await admin.sql<{ id: string }[]>`insert into tenants (slug, name) values (${slug}, ${`Tenant ${slug}`}) returning id`;
  return { id: (row as { id: string }).id, slug };
}

export interface LogInput {
  source?: string;
  eventType?: string | null;
  dedupeKey?: string;
  status?: string;
  payload?: unknown;
  headers?: Record<string, string>;
  errorMessage?: string | null;
  receivedAt?: Date;
  enqueuedAt?: Date | null;
}

/** Inserts one webhook log row as the receiver would have stored it; returns its id. */
export async function insertLog(admin: Database, tenantId: string, input: LogInput = {}): Promise<number> {
  const sql = admin.sql;
  const [row] = await sql<{ id: number }[]>`
    insert into webhook_logs (tenant_id, source, event_type, dedupe_key, headers, payload, status, error_message, received_at, enqueued_at)
    values (${tenantId}, ${input.source ?? 'stripe'}, ${input.eventType === undefined ? 'checkout.session.completed' : input.eventType},
            ${input.dedupeKey ?? `evt_${randomBytes(8).toString('hex')}`}, ${sql.json(input.headers ?? { 'content-type': 'application/json' })},
            ${input.payload === undefined ? null : sql.json(input.payload as never)}, ${input.status ?? 'processed'}, ${input.errorMessage ?? null},
            ${input.receivedAt ?? new Date()}, ${input.enqueuedAt === undefined ? new Date() : input.enqueuedAt})
    returning id`;
  return (row as { id: number }).id;
}
