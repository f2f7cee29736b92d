import { describe, expect, expectTypeOf, it } from 'vitest';
import { type ReportRunRow, type TenantRow, toReportRun, toTenant, toWebhookLog, type WebhookLogRow } from './schema/index';

describe('row types and mappers derived from the schema', () => {
  const created = new Date('2026-03-02T08:00:00Z');
  const tenantRow: TenantRow = {
    id: '7b1e0f5e-0000-4000-8000-000000000001',
    slug: 'acme',
    name: 'Acme',
    owner_name: null,
    report_email: 'owner@acme.test',
    config: { timezone: 'Europe/Paris' },
    is_active: true,
    created_at: created,
    updated_at: created,
  };

  it('maps a whole row to the camelCase record, every column once', () => {
    expect(toTenant(tenantRow)).toEqual({
      id: tenantRow.id,
      slug: 'acme',
      name: 'Acme',
      ownerName: null,
      reportEmail: 'owner@acme.test',
      config: { timezone: 'Europe/Paris' },
      isActive: true,
      createdAt: created,
      updatedAt: created,
    });
  });

  it('maps the columns a query selected and leaves other keys (joins, computed values) to the caller', () => {
    const row = { id: 5, tenant_id: tenantRow.id, dedupe_key: 'evt_1', tenant_slug: 'acme' };
    const log = toWebhookLog(row);
    expect(log).toEqual({ id: 5, tenantId: tenantRow.id, dedupeKey: 'evt_1' });
    expectTypeOf(log).toEqualTypeOf<{ id: number; tenantId: string; dedupeKey: string }>();
  });

  it('keeps the order the query selected the columns in', () => {
    expect(Object.keys(toWebhookLog({ status: 'failed', id: 1, attempts: 2 }))).toEqual(['status', 'id', 'attempts']);
  });

  it('keeps null and falsy values (only a missing column is left out)', () => {
    expect(toWebhookLog({ event_type: null, attempts: 0, contact_id: null })).toEqual({ eventType: null, attempts: 0, contactId: null });
  });

  it('types rows with SQL column names and the schema value types', () => {
    expectTypeOf<TenantRow['is_active']>().toEqualTypeOf<boolean>();
    expectTypeOf<TenantRow['owner_name']>().toEqualTypeOf<string | null>();
    expectTypeOf<WebhookLogRow['received_at']>().toEqualTypeOf<Date>();
    expectTypeOf<WebhookLogRow['raw_body']>().toEqualTypeOf<Buffer | null>();
    // `date` columns are calendar days as text (the client parses them so, see client.ts).
    expectTypeOf<ReportRunRow['period_start']>().toEqualTypeOf<string>();
    const run: Pick<ReportRunRow, 'period_start' | 'sent_at'> = { period_start: '2026-03-02', sent_at: null };
    expectTypeOf(toReportRun(run)).toEqualTypeOf<{ periodStart: string; sentAt: Date | null }>();
  });
});
