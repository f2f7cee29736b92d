import { formatMoney, McbError } from '@mcb/core';
import {
  type ContactFieldChangeRow,
  type ContactIdentityRow,
  type ContactRow,
  createDatabase,
  type Database,
  type FunnelEventRow,
  type PaymentRow,
  type WebhookLogRow,
  withTenantSql,
} from '@mcb/db';
import { isPhoneCountry, normalizePhone } from '@mcb/sources';
import { getTenantBySlug } from '@mcb/tenancy';
import type { Command } from 'commander';
import { loadCliEnv, withAdminDatabase } from '../env';
import { addFormatOptions, type FormatFlags, outputFormats, resolveFormat } from '../format-option';
import { printable, printableJson } from '../output';
import { formatTable } from '../table';

const fields = [
  'mc_id',
  'ghl_id',
  'email_primary',
  'email_booking',
  'email_payment',
  'phone',
  'first_name',
  'last_name',
  'ig_username',
  'ig_id',
  'stripe_customer_id',
  'stage',
  'source',
  'ad_id',
] as const;

interface Provenance {
  field: string;
  value: string | null;
  logId: number | null;
  source: string | null;
  eventType: string | null;
  at: Date;
}

/** One line of the timeline: `what` and `detail` as the table shows them, and the values they are written from. */
type TimelineEntry = {
  at: Date;
  what: string;
  source: string;
  detail: string;
  logId: number | null;
} & (
  | { kind: 'event'; eventType: string; providerEventType: string | null; sourceEventId: string }
  | { kind: 'payment'; category: string; amountCents: number; currency: string; status: string; paymentEventId: string }
);

/** One identifier the person is matched by (SPEC §6.1), and where it was first learned. */
interface IdentityLine {
  kind: string;
  value: string;
  source: string | null;
  logId: number | null;
  eventType: string | null;
  firstSeenAt: Date;
  /** The record it belonged to before a merge moved it here. */
  mergedFromId: string | null;
}

/** What `mcb contact` prints: the person, every identifier it is known by, where each field came from, and their timeline. */
export interface ContactReport {
  contact: Record<string, unknown> & { id: string; merged_into_id: string | null };
  /** Set when the identifier matched a merged record: the id it was looked up by. */
  mergedFrom: string | null;
  mergedIds: string[];
  otherMatches: string[];
  identities: IdentityLine[];
  provenance: Provenance[];
  timeline: TimelineEntry[];
}

/** The log a change came from (left join: null when it came from none). */
type LogOrigin = { source: WebhookLogRow['source'] | null; event_type: WebhookLogRow['event_type'] };

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The digits of a phone in national form: a trunk 0, then 7–14 digits (the UK's `07700 900456`). */
const nationalDigitsRe = /^0[1-9]\d{6,13}$/;

/**
 * The phones an identifier is looked up by: its E.164 form, read as the normalizers read it with the
 * tenant's `phone_country` (a national number is completed with that country's code); and, for a
 * national number (leading 0), the `+0…` form it was stored in before tenants had a country (those
 * rows are not rewritten; no number is stored that way any more). None for an email.
 */
export function lookupPhones(identifier: string, phoneCountry?: string | null): string[] {
  const key = identifier.trim();
  if (key.includes('@')) return [];
  const phones: string[] = [];
  const phone = normalizePhone(key, phoneCountry);
  if (phone) phones.push(phone);
  const digits = key.replace(/\D/g, '');
  if (!key.startsWith('+') && nationalDigitsRe.test(digits)) phones.push(`+${digits}`);
  return phones;
}

/**
 * Payments of the tenant that carry `identifier` (email, phone, Stripe customer) and no contact yet:
 * a payment alone creates no contact (SPEC §6), so a tenant whose tools are all payment tools finds its
 * buyers here, not as contacts. Under the tenant (RLS), by the orphan indexes (drizzle/0021).
 */
export async function orphanPaymentsCarrying(
  app: Database,
  tenantId: string,
  identifier: string,
  phoneCountry?: string | null,
): Promise<{ count: number; amounts: string[] }> {
  const key = identifier.trim();
  const phones = lookupPhones(key, phoneCountry);
  const rows = await withTenantSql(
    app.sql,
    tenantId,
    (tx) => tx<{ amount_cents: string; currency: string }[]>`
      select amount_cents, currency from payments where id in (
        select id from payments where contact_id is null and customer_email_key = ${key.toLowerCase()}
        union select id from payments where contact_id is null and customer_phone = any(${phones}::text[])
        union select id from payments where contact_id is null and stripe_customer_id = ${key})
      order by paid_at nulls last, payment_event_id limit 50`,
  );
  return { count: rows.length, amounts: rows.map((r) => formatMoney(Number(r.amount_cents), r.currency)) };
}

/**
 * Finds one contact of a tenant by any identifier it was ever known by (`contact_identities`: ManyChat
 * or GHL id, Stripe customer, email case-insensitive, phone E.164 after normalizing with the tenant's
 * `phone_country` (`lookupPhones`) — also ones a merge moved to it) or its uuid, and gathers its
 * identifiers and lineage. Runs under the tenant (RLS). Returns null when nothing matches. A merged
 * record resolves to the one it was merged into.
 */
export async function findContactReport(
  app: Database,
  tenantId: string,
  identifier: string,
  phoneCountry?: string | null,
): Promise<ContactReport | null> {
  const key = identifier.trim();
  const phones = lookupPhones(key, phoneCountry);
  const id = uuidRe.test(key) ? key.toLowerCase() : null;
  return withTenantSql(app.sql, tenantId, async (tx) => {
    // One indexed lookup per kind of identifier (under RLS an OR of them, or lower() on a column, reads
    // every contact of the tenant). Every email a contact's columns hold is one of its identities.
    const matches = await tx<Pick<ContactRow, 'id' | 'merged_into_id'>[]>`
      select id, merged_into_id from contacts
      where id in (
        select id from contacts where id = ${id}::uuid
        union all select id from contacts where mc_id = ${key}
        union all select id from contacts where ghl_id = ${key}
        union all select id from contacts where stripe_customer_id = ${key}
        union all select id from contacts where phone = any(${phones}::text[])
        union all select contact_id from contact_identities
          where (kind in ('mc_id', 'ghl_id', 'stripe_customer_id') and value = ${key})
            or (kind = 'email' and value = ${key.toLowerCase()}) or (kind = 'phone' and value = any(${phones}::text[])))
      order by (merged_into_id is null) desc, (id = ${id}::uuid) desc nulls last, (mc_id = ${key}) desc nulls last,
        (ghl_id = ${key}) desc nulls last, created_at`;
    const first = matches[0];
    if (!first) return null;
    let contactId = first.id;
    for (let hops = 0; hops < 10; hops++) {
      const [row] = await tx<Pick<ContactRow, 'merged_into_id'>[]>`select merged_into_id from contacts where id = ${contactId}`;
      if (!row?.merged_into_id) break;
      contactId = row.merged_into_id;
    }
    const [contact] = await tx<ContactReport['contact'][]>`select * from contacts where id = ${contactId}`;
    const merged = await tx<Pick<ContactRow, 'id'>[]>`select id from contacts where merged_into_id = ${contactId} order by created_at`;
    const changes = await tx<(Pick<ContactFieldChangeRow, 'field' | 'new_value' | 'webhook_log_id' | 'changed_at'> & LogOrigin)[]>`
      select c.field, c.new_value, c.webhook_log_id, c.changed_at, w.source, w.event_type
      from contact_field_changes c left join webhook_logs w on w.tenant_id = c.tenant_id and w.id = c.webhook_log_id
      where c.contact_id = ${contactId} order by c.id`;
    const identities = await tx<
      (Pick<ContactIdentityRow, 'kind' | 'value' | 'source' | 'webhook_log_id' | 'first_seen_at' | 'merged_from_id'> &
        Pick<LogOrigin, 'event_type'>)[]
    >`
      select i.kind, i.value, i.source, i.webhook_log_id, w.event_type, i.first_seen_at, i.merged_from_id
      from contact_identities i left join webhook_logs w on w.tenant_id = i.tenant_id and w.id = i.webhook_log_id
      where i.contact_id = ${contactId}
      order by array_position(array['mc_id', 'ghl_id', 'stripe_customer_id', 'email', 'phone'], i.kind), i.first_seen_at, i.value`;
    const provenance: Provenance[] = [];
    for (const f of fields) {
      const value = (contact?.[f] as string | null) ?? null;
      if (value === null) continue;
      const change = changes.filter((c) => c.field === f && c.new_value === value).pop();
      provenance.push({
        field: f,
        value,
        logId: change?.webhook_log_id ?? null,
        source: change?.source ?? null,
        eventType: change?.event_type ?? null,
        at: change?.changed_at ?? (contact?.created_at as Date),
      });
    }
    const events = await tx<
      (Pick<FunnelEventRow, 'occurred_at' | 'event_type' | 'source' | 'source_event_id' | 'webhook_log_id'> & {
        log_event_type: string | null;
      })[]
    >`
      select e.occurred_at, e.event_type, e.source, e.source_event_id, e.webhook_log_id, w.event_type as log_event_type
      from funnel_events e left join webhook_logs w on w.tenant_id = e.tenant_id and w.id = e.webhook_log_id
      where e.contact_id = ${contactId}`;
    const payments = await tx<
      Pick<PaymentRow, 'paid_at' | 'category' | 'amount_cents' | 'currency' | 'status' | 'source' | 'payment_event_id' | 'webhook_log_id'>[]
    >`select paid_at, category, amount_cents, currency, status, source, payment_event_id, webhook_log_id from payments where contact_id = ${contactId}`;
    const timeline: TimelineEntry[] = [
      ...events.map((e) => ({
        at: e.occurred_at,
        kind: 'event' as const,
        what: e.event_type,
        source: e.source,
        detail: eventDetail(e.log_event_type, e.source_event_id),
        logId: e.webhook_log_id,
        eventType: e.event_type,
        providerEventType: e.log_event_type,
        sourceEventId: e.source_event_id,
      })),
      ...payments.map((p) => ({
        at: p.paid_at,
        kind: 'payment' as const,
        what: `payment ${p.category}`,
        source: p.source,
        detail: `${formatMoney(p.amount_cents, p.currency)} ${p.status} ${p.payment_event_id}`,
        logId: p.webhook_log_id,
        category: p.category,
        amountCents: p.amount_cents,
        currency: p.currency,
        status: p.status,
        paymentEventId: p.payment_event_id,
      })),
    ].sort((a, b) => a.at.getTime() - b.at.getTime() || a.kind.localeCompare(b.kind));
    return {
      contact: contact!,
      mergedFrom: contactId === first.id ? null : first.id,
      mergedIds: merged.map((m) => m.id),
      otherMatches: matches.filter((m) => m.merged_into_id === null && m.id !== contactId).map((m) => m.id),
      identities: identities.map((i) => ({
        kind: i.kind,
        value: i.value,
        source: i.source,
        logId: i.webhook_log_id === null ? null : Number(i.webhook_log_id),
        eventType: i.event_type,
        firstSeenAt: i.first_seen_at,
        mergedFromId: i.merged_from_id,
      })),
      provenance,
      timeline,
    };
  });
}

/**
 * What the tool sent (its own event type, e.g. ManyChat's `contact_created` behind `contact_subscribed`)
 * and the event's id; an id that is a body hash (no id in the payload) is shortened: it identifies, it
 * does not inform, and the full one is on the log.
 */
export function eventDetail(providerEventType: string | null, sourceEventId: string): string {
  const id = sourceEventId.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]{52}/, '$1…');
  return providerEventType ? `${providerEventType} ${id}` : id;
}

/**
 * The tenant's `phone_country` as the worker's normalizers read it from the stored config: upper case,
 * null when unset or not a country (a config stored by hand is not refused here, it reads as none).
 */
export function storedPhoneCountry(config: Record<string, unknown>): string | null {
  const country = config.phone_country;
  return typeof country === 'string' && isPhoneCountry(country) ? country.toUpperCase() : null;
}

/** How an operator sets the country a tenant's national numbers are read in (config `phone_country`). */
const setPhoneCountry = (slug: string) => `mcb tenant update ${slug} --phone-country <ISO country code, e.g. GB>`;

/**
 * What to add to "No contact matching …" when the identifier is a phone written without `+`: phones are
 * stored in E.164, and one without a country code is read with the tenant's `phone_country` (config
 * §5) — the operator is told how it was read. A tenant without one reads only 10 digits as North
 * American and anything else as starting with its country code, and has no reading for a national
 * number (Japan's `090…`, the UK's `07…`): the operator is told to give the international form or to set
 * the tenant's country. Empty for anything else (an email, a `+` number, an id, too few digits).
 */
export function phoneLookupHint(identifier: string, tenant: { slug: string; phoneCountry?: string | null }): string {
  const key = identifier.trim();
  if (!/^[\d\s().-]+$/.test(key)) return '';
  const digits = key.replace(/\D/g, '');
  const phone = normalizePhone(key, tenant.phoneCountry);
  if (phone && tenant.phoneCountry) {
    return ` (phones are matched in international form: ${key} was read as ${phone}, a number of ${tenant.phoneCountry}, the tenant's phone_country; give a number of another country with + and its country code)`;
  }
  const international = `give it with + and the country code, e.g. +<country code>${digits.replace(/^0+/, '')}`;
  if (phone) {
    return ` (phones are matched in international form: ${key} was read as ${phone}; ${international}, or set the tenant's country for numbers written without one: ${setPhoneCountry(tenant.slug)})`;
  }
  if (nationalDigitsRe.test(digits) && tenant.phoneCountry) {
    // Operator walk, stop 37: this said "has no phone_country" to a tenant that had one.
    return ` (phones are matched in international form, and ${key} is not a number of ${tenant.phoneCountry}, tenant ${tenant.slug}'s phone_country: ${international})`;
  }
  if (nationalDigitsRe.test(digits)) {
    return ` (phones are matched in international form, and tenant ${tenant.slug} has no phone_country to read the national number ${key} with: ${international}, or set the tenant's country: ${setPhoneCountry(tenant.slug)})`;
  }
  return '';
}

const iso = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 19);

/**
 * Plain-text rendering of a report (identity, stage, where each field came from, timeline). Names, ids,
 * event types and values came from webhooks: tables escape every cell (`formatTable`), the other lines
 * go through `printable`.
 */
export function formatContactReport(slug: string, r: ContactReport): string {
  const c = r.contact;
  const p = (value: unknown) => printable(String(value));
  const lines = [`Contact ${p(c.id)} (tenant ${p(slug)})`];
  if (r.mergedFrom) lines.push(`  (looked up via ${p(r.mergedFrom)}, which was merged into this contact)`);
  lines.push(
    `  stage: ${p(c.stage ?? '—')}    first seen: ${c.first_seen_at ? iso(c.first_seen_at as Date) : '—'}    created: ${iso(c.created_at as Date)}`,
  );
  if (r.mergedIds.length > 0) lines.push(`  merged from: ${p(r.mergedIds.join(', '))}`);
  if (r.otherMatches.length > 0) lines.push(`  other contacts matching this identifier: ${p(r.otherMatches.join(', '))}`);
  lines.push('', `Identifiers it is matched by (${r.identities.length})`);
  lines.push(
    r.identities.length === 0
      ? '  (none recorded)'
      : formatTable(
          ['kind', 'value', 'from', 'log', 'first seen', 'merged from'],
          r.identities.map((i) => [
            i.kind,
            i.value,
            i.source ? `${i.source} ${i.eventType ?? ''}`.trim() : '—',
            i.logId ? String(i.logId) : '—',
            iso(i.firstSeenAt),
            i.mergedFromId ?? '',
          ]),
        ).trimEnd(),
  );
  lines.push('', 'Fields and where each came from');
  lines.push(
    formatTable(
      ['field', 'value', 'from', 'log', 'set at'],
      r.provenance.map((p) => [
        p.field,
        p.value ?? '',
        p.source ? `${p.source} ${p.eventType ?? ''}`.trim() : '—',
        p.logId ? String(p.logId) : '—',
        iso(p.at),
      ]),
    ).trimEnd(),
  );
  lines.push('', `Timeline (${r.timeline.length})`);
  lines.push(
    r.timeline.length === 0
      ? '  (no events or payments)'
      : formatTable(
          ['time (UTC)', 'what', 'source', 'detail', 'log'],
          r.timeline.map((t) => [iso(t.at), t.what, t.source, t.detail, t.logId ? String(t.logId) : '—']),
        ).trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

/**
 * What `mcb contact --format json` prints: the same report as the text, with snake_case keys, times as
 * ISO 8601 (UTC) and each payment's amount in integer minor units of its own `currency` (lowercase ISO
 * 4217), never formatted. Every field of the person is present (null when unset), so the keys are stable.
 */
export function contactReportJson(slug: string, r: ContactReport) {
  const c = r.contact;
  return {
    tenant: slug,
    contact: {
      id: c.id,
      ...Object.fromEntries(fields.map((f) => [f, (c[f] as string | null | undefined) ?? null])),
      first_seen_at: (c.first_seen_at as Date | null) ?? null,
      created_at: c.created_at as Date,
    },
    looked_up_via: r.mergedFrom,
    merged_ids: r.mergedIds,
    other_matches: r.otherMatches,
    identities: r.identities.map((i) => ({
      kind: i.kind,
      value: i.value,
      source: i.source,
      event_type: i.eventType,
      log_id: i.logId,
      first_seen_at: i.firstSeenAt,
      merged_from_id: i.mergedFromId,
    })),
    provenance: r.provenance.map((p) => ({
      field: p.field,
      value: p.value,
      source: p.source,
      event_type: p.eventType,
      log_id: p.logId,
      set_at: p.at,
    })),
    timeline: r.timeline.map((t) =>
      t.kind === 'event'
        ? {
            at: t.at,
            kind: t.kind,
            source: t.source,
            log_id: t.logId,
            event_type: t.eventType,
            provider_event_type: t.providerEventType,
            source_event_id: t.sourceEventId,
          }
        : {
            at: t.at,
            kind: t.kind,
            source: t.source,
            log_id: t.logId,
            category: t.category,
            amount_cents: t.amountCents,
            currency: t.currency,
            status: t.status,
            payment_event_id: t.paymentEventId,
          },
    ),
  };
}

export function registerContactCommands(program: Command): void {
  const contact = program
    .command('contact')
    .description('Show one person: every identifier it is matched by (and where it came from), stage, where each field came from, timeline')
    .argument('<slug>', 'tenant slug')
    .argument('<identifier>', 'email, phone, ManyChat id, GHL id, Stripe customer id or contact uuid');
  addFormatOptions(contact, outputFormats, 'text', 'text is for reading, json the whole report').action(
    async (slug: string, identifier: string, opts: FormatFlags) => {
      const format = resolveFormat(opts, outputFormats, 'text');
      const env = loadCliEnv();
      const tenant = await withAdminDatabase(env, (admin) => getTenantBySlug(admin, slug));
      const app = createDatabase({ url: env.DATABASE_URL, role: 'app', max: 1, applicationName: 'mcb-cli' });
      try {
        const phoneCountry = storedPhoneCountry(tenant.config);
        const report = await findContactReport(app, tenant.id, identifier, phoneCountry);
        if (!report) {
          const orphans = await orphanPaymentsCarrying(app, tenant.id, identifier, phoneCountry);
          const waiting =
            orphans.count > 0
              ? `; ${orphans.count === 50 ? '50 or more' : orphans.count} payment(s) carry it (${orphans.amounts.slice(0, 3).join(', ')}${orphans.count > 3 ? ', …' : ''}) and wait for their person: a payment alone creates no contact, it is linked when the person arrives from ManyChat, GHL or Perspective`
              : phoneLookupHint(identifier, { slug: tenant.slug, phoneCountry });
          throw new McbError('not_found', `No contact matching ${identifier} in tenant ${slug}${waiting}`);
        }
        // Names, ids and values came from webhooks: escaped like the text (`printableJson`).
        process.stdout.write(format === 'json' ? `${printableJson(contactReportJson(slug, report))}\n` : formatContactReport(slug, report));
      } finally {
        await app.close();
      }
    },
  );
}
