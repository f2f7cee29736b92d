import { distinctEmails, normalizeEmail, readAdId, readPhone } from '../identity';
import { isRecord, unwrapBody } from '../payload';
import {
  boundedTags,
  buildContact,
  emitEvents,
  guardNormalizer,
  ignore,
  type NormalizerConfig,
  reject,
  withNote,
  withoutUndefined,
} from '../result';
import type { NormalizeResult } from '../types';
import { perspectiveBodySchema } from './schema';

/**
 * Whether `text` matches `pattern`, where `*` matches any run of characters and every other character
 * itself (compare lowercased). At most pattern length × text length steps: the funnel name is the
 * sender's, and a `^.*ig.*dm.*test.*$` regular expression backtracked 0.24 s on a 2 KB name, `*ig*dm*v*x*` 18 s.
 */
function matchesGlob(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  // The last `*` seen and the text position it is currently taken to end at: on a mismatch it takes one more character.
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * Whether a funnel is on the tenant's `perspective.ignore_funnels` list: an entry matches the funnel's
 * name or id, case-insensitively; `*` in an entry matches any run of characters (e.g. `*checkout*`).
 */
export function isIgnoredFunnel(names: Array<string | undefined>, config: NormalizerConfig): string | undefined {
  const list = Array.isArray(config.perspective?.ignore_funnels) ? config.perspective.ignore_funnels : [];
  const lowered = names.filter((name): name is string => name !== undefined).map((name) => name.toLowerCase());
  for (const entry of list) {
    if (typeof entry !== 'string' || entry.trim() === '') continue;
    const pattern = entry.trim().toLowerCase();
    if (lowered.some((name) => matchesGlob(pattern, name))) return entry;
  }
  return undefined;
}

/**
 * Perspective conversion → `form_submitted` at the conversion time (SPEC §4), tagged with the funnel;
 * funnels on the tenant's ignore list are `ignored`. Pure, total.
 */
export const normalizePerspective = guardNormalizer('perspective', (payload: unknown, config: NormalizerConfig): NormalizeResult => {
  const raw = unwrapBody(payload);
  if (!isRecord(raw)) return reject(null, 'Perspective body is not a JSON object');
  const body = perspectiveBodySchema.parse(raw);
  const eventType = body.trigger ?? 'form_submitted';
  const ignoredBy = isIgnoredFunnel([body.funnelName, body.funnelId], config);
  if (ignoredBy) return ignore(eventType, `funnel "${body.funnelName ?? body.funnelId}" matches ignore_funnels entry "${ignoredBy}"`);

  const { profile, values, meta } = body;
  const email = normalizeEmail(profile?.email) ?? normalizeEmail(values?.email);
  const { phone, note: phoneNote } = readPhone(config.phone_country, profile?.phone, values?.phone);
  // The sender's tags bounded (tagLimits), then the funnel's own keys, over the sender's same-named ones.
  const tags = withoutUndefined({
    ...boundedTags(isRecord(body.tags) ? body.tags : {}),
    funnel: body.funnelName,
    perspective_funnel_id: body.funnelId,
  });
  const { adId, note: adIdNote } = readAdId(values?.ad_id, values?.AD_ID, meta?.ad_id, meta?.utm_content);
  const contact = buildContact(
    { emails: distinctEmails(email), phone },
    {
      emailPrimary: email,
      phone,
      firstName: profile?.firstName ?? values?.firstName,
      lastName: profile?.lastName ?? values?.lastName,
      adId,
      tags,
    },
  );
  if (!contact) return reject(eventType, `Perspective conversion carries no email or phone${phoneNote ? ` (${phoneNote})` : ''}`);
  // Perspective's own conversion time only: `values` are what the visitor's form sent, and a backdated
  // `values.ps_converted_at` took over the contact's first touch (red team, stop 37).
  const occurredAt = meta?.convertedAt ?? meta?.ps_converted_at;
  return withNote(
    emitEvents(
      withoutUndefined({
        source: 'perspective' as const,
        eventType,
        occurredAt,
        contact,
        funnelEvent: withoutUndefined({
          type: 'form_submitted' as const,
          occurredAt,
          data: withoutUndefined({ funnel: body.funnelName, funnel_id: body.funnelId, perspective_id: body.id }),
        }),
      }),
    ),
    phoneNote,
    adIdNote,
  );
});
