import { randomUUID } from 'node:crypto';
import { createDatabase } from '@mcb/db';
import { addTenant } from '@mcb/tenancy';
import { pagesReadUnderTenant, type SentStatement, testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';
import { findContactReport } from './contact';

const { databaseUrl } = testEnv();
const owner = createDatabase({ url: databaseUrl, role: 'owner', max: 2 });
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const slug = `cc-${randomUUID().slice(0, 8)}`;
let contactId = '';
let mergedId = '';

beforeAll(async () => {
  process.env.DATABASE_URL = databaseUrl;
  const t = await addTenant(admin, { slug, name: 'Contact CLI' });
  const [log] = await owner.sql<{ id: number }[]>`
    insert into webhook_logs (tenant_id, source, event_type, dedupe_key, payload, status)
    values (${t.id}, 'manychat', 'contact_created', ${`k-${slug}`}, '{}'::jsonb, 'processed') returning id`;
  const [c] = await owner.sql<{ id: string }[]>`
    insert into contacts (tenant_id, mc_id, email_primary, phone, first_name, stage, first_seen_at)
    values (${t.id}, '1029384756', 'Maria.Lopez@example.com', '+15552013344', 'Maria', 'purchased', '2026-11-03T14:58:00Z') returning id`;
  contactId = c!.id;
  const [m] = await owner.sql<{ id: string }[]>`
    insert into contacts (tenant_id, ghl_id, merged_into_id) values (${t.id}, null, ${contactId}) returning id`;
  mergedId = m!.id;
  // Its identifiers as the applier records them (emails lowercased); the merged record's GHL id moved
  // to the survivor (as the applier's merge does).
  await owner.sql`
    insert into contact_identities (tenant_id, kind, value, contact_id, source, webhook_log_id, merged_from_id) values
      (${t.id}, 'mc_id', '1029384756', ${contactId}, 'manychat', ${log!.id}, null),
      (${t.id}, 'email', 'maria.lopez@example.com', ${contactId}, 'manychat', ${log!.id}, null),
      (${t.id}, 'phone', '+15552013344', ${contactId}, 'manychat', ${log!.id}, null),
      (${t.id}, 'ghl_id', 'ghl-merged-away', ${contactId}, 'ghl', null, ${mergedId})`;
  await owner.sql`
    insert into contact_field_changes (tenant_id, contact_id, field, old_value, new_value, webhook_log_id)
    values (${t.id}, ${contactId}, 'email_primary', null, 'Maria.Lopez@example.com', ${log!.id})`;
  await owner.sql`
    insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id, webhook_log_id)
    values (${t.id}, ${contactId}, 'contact_subscribed', '2026-11-03T14:58:00Z', 'manychat', ${`k-${slug}`}, ${log!.id})`;
  await owner.sql`
    insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, status, paid_at, webhook_log_id)
    values (${t.id}, ${contactId}, 'cs_test_1', 'stripe', 'buy_in_full', 'full_purchase', 240000, 'paid', '2026-11-05T10:00:00Z', ${log!.id})`;
});
afterAll(async () => {
  await Promise.all([owner.close(), admin.close()]);
});

describe('mcb contact', () => {
  it('finds a person by email (any case), phone, ManyChat id or a merged uuid and prints identity, lineage and timeline', async () => {
    for (const key of ['MARIA.LOPEZ@example.com', '(555) 201-3344', '1029384756', contactId, mergedId]) {
      const r = await mcb('contact', slug, key);
      expect(r.code, `${key}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Contact ${contactId}`);
      expect(r.stdout).toContain('stage: purchased');
      expect(r.stdout).toMatch(/email_primary\s+Maria\.Lopez@example\.com\s+manychat contact_created/);
      // What ManyChat sent (contact_created) beside the funnel event it became.
      expect(r.stdout).toMatch(new RegExp(`contact_subscribed\\s+manychat\\s+contact_created k-${slug}`));
      expect(r.stdout).toMatch(/payment full_purchase\s+stripe\s+\$2,400\.00 paid cs_test_1/);
    }
    expect((await mcb('contact', slug, mergedId)).stdout).toContain(`looked up via ${mergedId}`);
  });

  it('finds the person by an identifier a merge moved to it, and lists every identifier with where it came from', async () => {
    const r = await mcb('contact', slug, 'ghl-merged-away');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Contact ${contactId}`);
    expect(r.stdout).toContain('Identifiers it is matched by (4)');
    expect(r.stdout).toMatch(/mc_id\s+1029384756\s+manychat contact_created\s+\d+/);
    expect(r.stdout).toMatch(/email\s+maria\.lopez@example\.com\s+manychat contact_created\s+\d+/);
    expect(r.stdout).toMatch(new RegExp(`ghl_id\\s+ghl-merged-away\\s+ghl\\s+—\\s+\\S+ \\S+\\s+${mergedId}`));
  });

  it('writes each payment as money in its own currency (symbol, placement, exact digits), as the report and mcb stats do', async () => {
    const t = await addTenant(admin, { slug: `cm-${randomUUID().slice(0, 8)}`, name: 'Money', currency: 'gbp' });
    const [c] = await owner.sql<{ id: string }[]>`
      insert into contacts (tenant_id, mc_id) values (${t.id}, 'money-1') returning id`;
    await owner.sql`
      insert into payments (tenant_id, contact_id, payment_event_id, source, payment_type, category, amount_cents, currency, status, paid_at) values
        (${t.id}, ${c!.id}, 'cs_gbp', 'stripe', 'buy_in_full', 'deposit', 12550, 'gbp', 'paid', '2026-11-05T10:00:00Z'),
        (${t.id}, ${c!.id}, 'cs_jpy', 'stripe', 'buy_in_full', 'full_purchase', 500000, 'jpy', 'paid', '2026-11-05T11:00:00Z'),
        (${t.id}, ${c!.id}, 're_gbp', 'stripe', 'refund', 'refund', -2500, 'gbp', 'succeeded', '2026-11-05T12:00:00Z')`;
    const r = await mcb('contact', t.slug, 'money-1');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/payment deposit\s+stripe\s+£125\.50 paid cs_gbp/);
    expect(r.stdout).toMatch(/payment full_purchase\s+stripe\s+¥500,000 paid cs_jpy/);
    expect(r.stdout).toMatch(/payment refund\s+stripe\s+-£25\.00 succeeded re_gbp/);
    expect(r.stdout).not.toMatch(/GBP|JPY/);
  });

  it('a national number without a tenant country finds nothing and says to give the international form or set --phone-country', async () => {
    const t = await addTenant(admin, {
      slug: `cp-${randomUUID().slice(0, 8)}`,
      name: 'Tokyo Clinic',
      timezone: 'Asia/Tokyo',
      currency: 'jpy',
    });
    await owner.sql`insert into contacts (tenant_id, phone, first_name) values (${t.id}, '+819012345678', 'Yui')`;
    await owner.sql`insert into contact_identities (tenant_id, kind, value, contact_id, source)
      select ${t.id}, 'phone', phone, id, 'ghl' from contacts where tenant_id = ${t.id}`;
    // The international form finds her, however it is written.
    for (const phone of ['+819012345678', '+81 90-1234-5678']) expect((await mcb('contact', t.slug, phone)).code, phone).toBe(0);
    expect(await mcb('contact', t.slug, '090-1234-5678')).toEqual({
      code: 1,
      stdout: '',
      stderr: `No contact matching 090-1234-5678 in tenant ${t.slug} (phones are matched in international form, and tenant ${t.slug} has no phone_country to read the national number 090-1234-5678 with: give it with + and the country code, e.g. +<country code>9012345678, or set the tenant's country: mcb tenant update ${t.slug} --phone-country <ISO country code, e.g. GB>)\n`,
    });
    // An identifier that is no phone, or one written with +, gets the plain line.
    expect((await mcb('contact', t.slug, 'nobody@example.com')).stderr).toBe(
      `No contact matching nobody@example.com in tenant ${t.slug}\n`,
    );
    expect((await mcb('contact', t.slug, '+81 90 0000 0000')).stderr).toBe(`No contact matching +81 90 0000 0000 in tenant ${t.slug}\n`);
    // A buyer known only from payments (a tenant with payment tools only): no contact, but her payments are named.
    await owner.sql`insert into payments (tenant_id, payment_event_id, source, payment_type, category, amount_cents, currency, status,
        customer_email, customer_email_key, customer_phone, stripe_customer_id, paid_at)
      values (${t.id}, 'cs_only_1', 'stripe', 'buy_in_full', 'full_purchase', 500000, 'jpy', 'paid', 'Aiko@Example.jp', 'aiko@example.jp',
        '+819011112222', 'cus_only', now()),
        (${t.id}, 'cs_only_2', 'stripe', 'buy_in_full', 'deposit', 10000, 'jpy', 'paid', 'aiko@example.jp', 'aiko@example.jp', null, null,
        now())`;
    const waiting = (n: number, amounts: string) =>
      `No contact matching %s in tenant ${t.slug}; ${n} payment(s) carry it (${amounts}) and wait for their person: a payment alone creates no contact, it is linked when the person arrives from ManyChat, GHL or Perspective\n`;
    for (const [id, n, amounts] of [
      ['aiko@example.jp', 2, '¥500,000, ¥10,000'],
      ['+81 90 1111 2222', 1, '¥500,000'],
      ['cus_only', 1, '¥500,000'],
    ] as const)
      expect(await mcb('contact', t.slug, id), id).toEqual({ code: 1, stdout: '', stderr: waiting(n, amounts).replace('%s', id) });
    // With the tenant's country set, the national form finds her.
    expect(await mcb('tenant', 'update', t.slug, '--phone-country', 'JP')).toMatchObject({ code: 0 });
    const found = await mcb('contact', t.slug, '090-1234-5678');
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toMatch(/phone\s+\+819012345678/);
  });

  it("a GB tenant's national number finds the person stored in E.164, and one stored as +0… before tenants had a country", async () => {
    const t = await addTenant(admin, { slug: `cg-${randomUUID().slice(0, 8)}`, name: 'Bright Smile', currency: 'gbp', phoneCountry: 'GB' });
    const [olivia] = await owner.sql<{ id: string }[]>`
      insert into contacts (tenant_id, phone, first_name) values (${t.id}, '+447700900456', 'Olivia') returning id`;
    // Stored before this change: Denefits' national customer_mobile as +07700900123 (rows are not rewritten).
    const [legacy] = await owner.sql<{ id: string }[]>`
      insert into contacts (tenant_id, phone, first_name) values (${t.id}, '+07700900123', 'Harry') returning id`;
    await owner.sql`insert into contact_identities (tenant_id, kind, value, contact_id, source)
      select ${t.id}, 'phone', phone, id, 'denefits' from contacts where tenant_id = ${t.id}`;
    for (const phone of ['07700900456', '07700 900456', '(07700) 900-456', '7700 900456', '+44 7700 900456', '+44 (0)7700 900456']) {
      const r = await mcb('contact', t.slug, phone);
      expect(r.code, `${phone}: ${r.stderr}`).toBe(0);
      expect(r.stdout, phone).toContain(`Contact ${olivia!.id}`);
    }
    const r = await mcb('contact', t.slug, '07700 900123');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Contact ${legacy!.id}`);
    expect(await mcb('contact', t.slug, '07700 900999')).toEqual({
      code: 1,
      stdout: '',
      stderr: `No contact matching 07700 900999 in tenant ${t.slug} (phones are matched in international form: 07700 900999 was read as +447700900999, a number of GB, the tenant's phone_country; give a number of another country with + and its country code)\n`,
    });
  });

  it('fails with one line for an unknown contact or tenant', async () => {
    const none = await mcb('contact', slug, 'nobody@example.com');
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(`No contact matching nobody@example.com in tenant ${slug}\n`);
    const unknown = await mcb('contact', 'no-such-tenant', 'x@example.com');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('Unknown tenant: no-such-tenant; see mcb tenant list\n');
  });

  it('looks the person up through indexes under RLS in a tenant of 20,000 contacts', async () => {
    // An OR of the identifiers with lower(email_*) read every contact of the tenant (lower() is not
    // leakproof, so under the tenant policy no index served it).
    const t = await addTenant(admin, { slug: `cb-${randomUUID().slice(0, 8)}`, name: 'Big tenant' });
    await owner.sql`
      with c as (
        insert into contacts (tenant_id, mc_id, email_primary, phone)
        select ${t.id}, 'mc' || g, 'Person' || g || '@x.io', '+1555' || lpad(g::text, 7, '0') from generate_series(1, 20000) g
        returning id, email_primary)
      insert into contact_identities (tenant_id, kind, value, contact_id, source) select ${t.id}, 'email', lower(email_primary), id, 'manychat' from c`;
    await owner.sql`analyze contacts`;
    await owner.sql`analyze contact_identities`;
    const sent: SentStatement[] = [];
    const watched = createDatabase({ url: databaseUrl, role: 'app', max: 1, onQuery: (text, params) => sent.push({ text, params }) });
    try {
      const report = await findContactReport(watched, t.id, 'PERSON777@x.io');
      expect(report?.contact.email_primary).toBe('Person777@x.io');
    } finally {
      await watched.close();
    }
    const lookup = sent.find((q) => /select id, merged_into_id from contacts\s+where/.test(q.text));
    expect(lookup, 'the lookup statement').toBeDefined();
    const app = createDatabase({ url: databaseUrl, role: 'app', max: 1 });
    try {
      expect(await pagesReadUnderTenant(app.sql, t.id, lookup!)).toBeLessThan(60);
    } finally {
      await app.close();
    }
  });
});
