import { bigint, date, foreignKey, jsonb, pgTable, primaryKey, text, timestamp, unique } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt, tenantId, updatedAt } from './columns';
import { tenants } from './tenants';

/** One row per tenant, kind and period: the guard that makes a second send a no-op. */
export const reportRuns = pgTable(
  'report_runs',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    tenantId: tenantId(),
    kind: text('kind').$type<'weekly'>().notNull(),
    periodStart: date('period_start', { mode: 'string' }).notNull(),
    periodEnd: date('period_end', { mode: 'string' }).notNull(),
    status: text('status').$type<'pending' | 'sent' | 'failed'>().notNull().default('pending'),
    recipients: jsonb('recipients').$type<string[]>().notNull().default([]),
    providerMessageId: text('provider_message_id'),
    error: text('error'),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('report_runs_tenant_kind_period_unique').on(t.tenantId, t.kind, t.periodStart),
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
  ],
);

export type ReportRun = typeof reportRuns.$inferSelect;
/** A `report_runs` row as SQL returns it (snake_case column names, schema types). */
export type ReportRunRow = RowOf<typeof reportRuns>;
/** `report_runs` row (whole or some columns) → `ReportRun` fields: the table's one mapper (ADR 0018). */
export const toReportRun = rowMapper(reportRuns);
