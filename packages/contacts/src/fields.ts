import type { FieldMeta } from '@mcb/db/schema';
import type { ContactFields } from '@mcb/sources';

/** When a value was learned: the event time (ISO, UTC) and the webhook log that carried it. */
export interface Stamp {
  at: string;
  logId: string;
}

/**
 * How a field reacts to a new non-empty value (SPEC §6.4, §6.7):
 * - `newest`: the value of the newest event wins (ties: higher log id);
 * - `first_touch`: the value of the earliest event wins (ties: lower log id). Also the provider ids
 *   (`mc_id`, `ghl_id`): a person with two ManyChat subscribers or two GHL records keeps the earliest
 *   of each on the row, whatever order the events came in (SPEC §6.7); the others stay identities and
 *   keep matching. A displaced id is on no other live row (it matched this contact, and a merge
 *   loser gives its ids up), so `UNIQUE(tenant_id, mc_id)` holds.
 */
type Rule = 'newest' | 'first_touch';

/**
 * Most tag keys one contact holds. Past it a new key is not added (known keys still update): every
 * event for the contact copies, compares and stamps its whole tag set, so its size is the cost of
 * each of them — a reviewer's 270,000 keys made each small event of that contact cost 7 s.
 */
export const maxTagsPerContact = 500;

/** Scalar contact fields, their column and rule. `tags` are handled per key (newest). */
export const contactFieldRules = {
  mcId: ['mc_id', 'first_touch'],
  ghlId: ['ghl_id', 'first_touch'],
  emailPrimary: ['email_primary', 'newest'],
  emailBooking: ['email_booking', 'newest'],
  emailPayment: ['email_payment', 'newest'],
  phone: ['phone', 'newest'],
  firstName: ['first_name', 'newest'],
  lastName: ['last_name', 'newest'],
  igUsername: ['ig_username', 'newest'],
  igId: ['ig_id', 'newest'],
  stripeCustomerId: ['stripe_customer_id', 'newest'],
  source: ['source', 'first_touch'],
  adId: ['ad_id', 'first_touch'],
} as const satisfies Record<Exclude<keyof ContactFields, 'tags'>, readonly [string, Rule]>;

export type ScalarField = keyof typeof contactFieldRules;
export type ContactColumn = (typeof contactFieldRules)[ScalarField][0];
export const scalarFields = Object.keys(contactFieldRules) as ScalarField[];

/** The mutable part of a contact row, as the rules see it. */
export interface ContactState {
  values: Partial<Record<ContactColumn, string | null>>;
  tags: Record<string, unknown>;
  meta: FieldMeta;
}

/** One field change for lineage (`contact_field_changes`). Tags appear as `tags.<key>`, values JSON. */
export interface FieldChange {
  field: string;
  oldValue: string | null;
  newValue: string | null;
}

/** Orders stamps: by time, then by log id (numeric). */
export function compareStamps(a: Stamp, b: Stamp): number {
  const ta = Date.parse(a.at);
  const tb = Date.parse(b.at);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const la = Number(a.logId);
  const lb = Number(b.logId);
  return la === lb ? 0 : la < lb ? -1 : 1;
}

/** Trimmed string, or undefined when null, empty or not a string ("no information"). */
export function cleanValue(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

function isEmptyTag(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0);
}

/** Decides one field: returns the winning value and stamp, or null when the current one stays. */
function decide(rule: Rule, cur: string | null | undefined, curStamp: Stamp | undefined, next: string, nextStamp: Stamp) {
  if (cur === null || cur === undefined) return { value: next, stamp: nextStamp };
  // A value with no stamp predates provenance tracking: treat it as the oldest.
  const order = curStamp ? compareStamps(nextStamp, curStamp) : rule === 'newest' ? 1 : 0;
  return (rule === 'newest' && order > 0) || (rule === 'first_touch' && order < 0) ? { value: next, stamp: nextStamp } : null;
}

/**
 * Applies incoming values (each with its stamp) to a contact state. Pure. Returns the columns to
 * set, the full new meta and the changes; an unchanged field whose stamp moves is recorded in meta
 * only, so a later-processed older event cannot override it (order independence).
 */
export function planFieldUpdates(
  state: ContactState,
  incoming: Array<{ fields: ContactFields; stamp: Stamp }>,
): {
  set: Partial<Record<ContactColumn, string>>;
  tags: Record<string, unknown> | null;
  meta: FieldMeta;
  changes: FieldChange[];
  metaChanged: boolean;
} {
  const values = { ...state.values };
  const meta: FieldMeta = { ...state.meta };
  const tags = { ...state.tags };
  const set: Partial<Record<ContactColumn, string>> = {};
  const changes: FieldChange[] = [];
  let tagsChanged = false;
  let metaChanged = false;
  let tagCount = Object.keys(tags).length;
  for (const { fields, stamp } of incoming) {
    for (const field of scalarFields) {
      const next = cleanValue(fields[field]);
      if (next === undefined) continue;
      const [column, rule] = contactFieldRules[field];
      const cur = values[column];
      const won = decide(rule, cur, meta[column], next, stamp);
      if (!won) continue;
      if (cur !== won.value) {
        changes.push({ field: column, oldValue: cur ?? null, newValue: won.value });
        values[column] = won.value;
        set[column] = won.value;
      }
      const old = meta[column];
      if (!old || compareStamps(old, won.stamp) !== 0) {
        meta[column] = won.stamp;
        metaChanged = true;
      }
    }
    for (const [key, value] of Object.entries(fields.tags ?? {})) {
      // `__proto__` would set the copy's prototype, not a tag.
      if (isEmptyTag(value) || key === '__proto__') continue;
      const metaKey = `tags.${key}`;
      const curStamp = meta[metaKey];
      if (curStamp && compareStamps(stamp, curStamp) <= 0) continue;
      const known = Object.hasOwn(tags, key);
      if (!known && tagCount >= maxTagsPerContact) continue;
      const oldJson = known ? JSON.stringify(tags[key]) : null;
      const newJson = JSON.stringify(value);
      if (oldJson !== newJson) {
        changes.push({ field: metaKey, oldValue: oldJson, newValue: newJson });
        if (!known) tagCount++;
        tags[key] = value;
        tagsChanged = true;
      }
      meta[metaKey] = stamp;
      metaChanged = true;
    }
  }
  return { set, tags: tagsChanged ? tags : null, meta, changes, metaChanged };
}

/** The fields a contact row carries, as incoming values stamped by its own meta (for merging). */
export function stateAsIncoming(state: ContactState, fallback: Stamp): Array<{ fields: ContactFields; stamp: Stamp }> {
  const out: Array<{ fields: ContactFields; stamp: Stamp }> = [];
  for (const field of scalarFields) {
    const [column] = contactFieldRules[field];
    const value = state.values[column];
    if (value) out.push({ fields: { [field]: value }, stamp: state.meta[column] ?? fallback });
  }
  for (const [key, value] of Object.entries(state.tags)) {
    out.push({ fields: { tags: { [key]: value } }, stamp: state.meta[`tags.${key}`] ?? fallback });
  }
  return out;
}
