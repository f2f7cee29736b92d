import { randomUUID } from 'node:crypto';
import { createDatabase } from '@mcb/db';
import { renderWeeklyReport } from '@mcb/emails';
import { testEnv } from '@mcb/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createTenant } from '../test/factories';
import { computeReportFigures } from './figures';
import { weekContaining } from './week';

// The weekly report shows the conversions sent to Meta (issue 17): capi_sends rows with status
// `sent`, counted by `sent_at` in the tenant's local week. Numbers below are counted by hand.

const { databaseUrl } = testEnv();
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 2 });
afterAll(async () => {
  await Promise.all([admin.close(), app.close()]);
});

describe('report figures: conversions sent to Meta', () => {
  it('counts sent events per Meta event name in the local week and the week before; the email says so', async () => {
    const t = await createTenant(admin, { name: 'CAPI Clinic', config: { timezone: 'America/New_York' } });
    const rows: Array<[string, string, string]> = [
      // week of Mon 2026-10-26 00:00 EDT (04:00Z) to Mon 2026-11-02 00:00 EST (05:00Z)
      ['Lead', 'sent', '2026-10-26T04:00:00Z'], // first instant of the week: in
      ['Lead', 'sent', '2026-10-29T15:00:00Z'],
      ['Purchase', 'sent', '2026-11-02T04:59:59Z'], // last second (DST week is 169 h): in
      ['Schedule', 'failed', '2026-10-28T15:00:00Z'], // refused by Meta: not a conversion sent
      ['Lead', 'skipped', '2026-10-28T15:00:00Z'], // skipped: not sent
      ['Lead', 'sent', '2026-11-02T05:00:00Z'], // next week: out
      ['Lead', 'sent', '2026-10-26T03:59:59Z'], // the week before: previous
    ];
    for (const [i, [name, status, at]] of rows.entries()) {
      // One person per row: a Lead is sent once per person.
      const contact = randomUUID();
      await admin.sql`insert into contacts (tenant_id, id) values (${t.id}, ${contact})`;
      const [fe] = await admin.sql<{ id: string }[]>`
        insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id)
        values (${t.id}, ${contact}, 'contact_subscribed', ${new Date(at)}, 'manychat', ${`conv-${i}`}) returning id`;
      await admin.sql`
        insert into capi_sends (tenant_id, funnel_event_id, contact_id, event_name, event_id, event_time, status, sent_at)
        values (${t.id}, ${fe!.id}, ${contact}, ${name}, ${`conv-${i}`}, ${new Date(at)}, ${status},
                ${status === 'sent' ? new Date(at) : null})`;
    }
    const f = await computeReportFigures(app, t.id, weekContaining('2026-10-29', 'America/New_York'));
    expect(f.conversions_sent).toEqual({ total: 3, by_event: { Lead: 2, Purchase: 1 } });
    expect(f.previous.conversions_sent).toEqual({ total: 1, by_event: { Lead: 1 } });

    const email = await renderWeeklyReport({ figures: f, ownerName: 'Ann', tense: 'other' });
    expect(email.text).toContain('Conversions sent to Meta: 3 (Lead 2 · Purchase 1); the week before 1.');
    expect(email.html).toContain('Conversions sent to Meta: 3 (Lead 2 · Purchase 1); the week before 1.');
  });

  it('a tenant that sends nothing to Meta gets no conversions line', async () => {
    const t = await createTenant(admin, { name: 'No CAPI', config: { timezone: 'UTC' } });
    const f = await computeReportFigures(app, t.id, weekContaining('2026-10-29', 'UTC'));
    expect(f.conversions_sent).toEqual({ total: 0, by_event: {} });
    const email = await renderWeeklyReport({ figures: f, ownerName: null, tense: 'other' });
    expect(email.text).not.toContain('Conversions sent to Meta');
  });
});
