import { describe, expect, it } from 'vitest';
import { readFixture } from '../test-fixtures';
import { normalizePerspective } from './normalize';

const fixture = (name: string) => readFixture('perspective', name);

describe('normalizePerspective', () => {
  // Red team, stop 37: `values` are what the visitor's form sent. A backdated `values.ps_converted_at`
  // became the contact's first touch (taking ad_id and the week it counts as a lead); free text in
  // `values.ad_id` was kept as the ad id and sent to Meta unhashed as custom data.
  it("reads the time from Perspective's meta only, and an ad id only when it is a Meta ad id", () => {
    const forged = {
      id: 'p-forged',
      funnelName: 'Guide',
      funnelId: 'g-1',
      values: { email: 'visitor@example.com', ad_id: 'jane.doe@example.com', ps_converted_at: '1970-01-02T00:00:00Z' },
      meta: { utm_content: 'not-an-id' },
    };
    const result = normalizePerspective(forged, {});
    expect(result).toMatchObject({ kind: 'events', note: 'ad id not kept: not a Meta ad id (digits only)' });
    if (result.kind !== 'events') throw new Error(result.kind);
    const [event] = result.events;
    expect(event?.occurredAt).toBeUndefined();
    expect(event?.contact?.fields.adId).toBeUndefined();
    const real = normalizePerspective(
      {
        ...forged,
        values: { email: 'visitor@example.com' },
        meta: { ps_converted_at: '2026-11-05T20:01:00Z', utm_content: '120210987654320002' },
      },
      {},
    );
    expect(real).toMatchObject({
      events: [{ occurredAt: '2026-11-05T20:01:00.000Z', contact: { fields: { adId: '120210987654320002' } } }],
    });
  });

  it("keeps the funnel's own tags when a sender's tags reach the per-event limit", () => {
    const tags = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`t${i}`, i]));
    const result = normalizePerspective(
      { id: 'p-tags', funnelName: 'Main', funnelId: 'f-1', profile: { email: 'tags@example.com' }, tags: { ...tags, funnel: 'forged' } },
      {},
    );
    const kept = result.kind === 'events' ? (result.events[0]?.contact?.fields.tags ?? {}) : {};
    // The sender's first 100, then the funnel's own two (over the sender's forged `funnel`).
    expect(Object.keys(kept)).toHaveLength(102);
    expect(kept).toMatchObject({ funnel: 'Main', perspective_funnel_id: 'f-1', t0: 0, t99: 99 });
  });

  it("keeps the funnel's own tags whatever keys the sender uses (integer-like keys enumerate first)", () => {
    const tags = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [String(i), i]));
    const result = normalizePerspective(
      { id: 'p-int', funnelName: 'Main', funnelId: 'f-1', profile: { email: 'int@example.com' }, tags },
      {},
    );
    const kept = result.kind === 'events' ? (result.events[0]?.contact?.fields.tags ?? {}) : {};
    expect(kept).toMatchObject({ funnel: 'Main', perspective_funnel_id: 'f-1', '0': 0, '99': 99 });
    expect(kept).not.toHaveProperty('100');
  });

  it('conversion → form_submitted at convertedAt, profile values first, funnel tags', () => {
    expect(normalizePerspective(fixture('form-submitted'), {})).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'perspective',
          eventType: 'conversion',
          occurredAt: '2026-11-03T14:58:02.120Z',
          contact: {
            identity: { emails: ['maria.lopez@example.com'], phone: '+15552013344' },
            fields: {
              emailPrimary: 'maria.lopez@example.com',
              phone: '+15552013344',
              firstName: 'Maria',
              lastName: 'Lopez',
              adId: '120210987654320001',
              tags: { booking_source: 'calendly', funnel: 'LVNG_BOF_Calendly', perspective_funnel_id: '64f0c1d2e3a4b5c6d7e8f901' },
            },
          },
          funnelEvent: {
            type: 'form_submitted',
            occurredAt: '2026-11-03T14:58:02.120Z',
            data: { funnel: 'LVNG_BOF_Calendly', funnel_id: '64f0c1d2e3a4b5c6d7e8f901', perspective_id: '6543f1e2a9b8c7d6e5f4a3b2' },
          },
        },
      ],
    });
  });

  it('values only (array body): ps_converted_at, utm_content as the ad id, phone to E.164', () => {
    expect(normalizePerspective(fixture('values-only'), {})).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'perspective',
          eventType: 'form_submitted',
          occurredAt: '2026-11-05T20:01:00.000Z',
          contact: {
            identity: { emails: ['Dana.K@Example.com'], phone: '+15552017788' },
            fields: {
              emailPrimary: 'Dana.K@Example.com',
              phone: '+15552017788',
              firstName: 'Dana',
              adId: '120210987654320002',
              tags: { funnel: 'LVNG_TOFMOF_MANYCHAT_JANE', perspective_funnel_id: '64f0c1d2e3a4b5c6d7e8f902' },
            },
          },
          funnelEvent: {
            type: 'form_submitted',
            occurredAt: '2026-11-05T20:01:00.000Z',
            data: {
              funnel: 'LVNG_TOFMOF_MANYCHAT_JANE',
              funnel_id: '64f0c1d2e3a4b5c6d7e8f902',
              perspective_id: '6543f1e2a9b8c7d6e5f4a3b3',
            },
          },
        },
      ],
    });
  });

  it('funnels on the tenant ignore list (name or id, case-insensitive, * wildcard) → ignored', () => {
    const byName = { perspective: { ignore_funnels: ['lvng_bof_calendly'] } };
    expect(normalizePerspective(fixture('form-submitted'), byName)).toStrictEqual({
      kind: 'ignored',
      eventType: 'conversion',
      reason: 'funnel "LVNG_BOF_Calendly" matches ignore_funnels entry "lvng_bof_calendly"',
    });
    const byId = { perspective: { ignore_funnels: ['64F0C1D2E3A4B5C6D7E8F902'] } };
    expect(normalizePerspective(fixture('values-only'), byId)).toMatchObject({ kind: 'ignored' });
    const byPattern = { perspective: { ignore_funnels: ['*checkout*'] } };
    const checkout = { ...(fixture('form-submitted') as object), funnelName: 'LVNG_CHECKOUT_V2' };
    expect(normalizePerspective(checkout, byPattern)).toMatchObject({ kind: 'ignored' });
    expect(normalizePerspective(fixture('form-submitted'), byPattern)).toMatchObject({ kind: 'events' });
  });

  it('an ignore_funnels pattern costs at most pattern × name steps on a name the sender chose (a regular expression took 0.9 s, or 18 s)', () => {
    const config = { perspective: { ignore_funnels: ['*a*b*c*', '*ig*dm*v*x*'] } };
    const started = performance.now();
    const result = normalizePerspective(
      { id: 'p-slow', funnelName: 'ab'.repeat(1_024), funnelId: 'igdmv'.repeat(409), values: { email: 'p@example.com' } },
      config,
    );
    const ms = performance.now() - started;
    expect(result).toMatchObject({ kind: 'events' });
    expect(ms).toBeLessThan(50);
  });

  it('ignore_funnels: * is any run of characters (none too), every other character itself, case-insensitive', () => {
    const matches = (entry: string, funnelName: string) =>
      normalizePerspective({ id: 'p', funnelName, values: { email: 'p@example.com' } }, { perspective: { ignore_funnels: [entry] } })
        .kind === 'ignored';
    expect(matches('*checkout*', 'CHECKOUT')).toBe(true);
    expect(matches('lvng_*_v?', 'LVNG_bof_V?')).toBe(true);
    expect(matches('lvng_*_v?', 'LVNG_bof_V2')).toBe(false);
    expect(matches('a.c', 'abc')).toBe(false);
    expect(matches('*a*b*c*', `${'ab'.repeat(50)}c`)).toBe(true);
    expect(matches('**x', 'x')).toBe(true);
    expect(matches('x*', 'yx')).toBe(false);
    expect(matches('*x', 'x\ny x')).toBe(true);
  });

  it('no email and no phone → invalid', () => {
    expect(normalizePerspective({ id: 'x', funnelName: 'F', values: { firstName: 'Anon' } }, {})).toStrictEqual({
      kind: 'invalid',
      eventType: 'form_submitted',
      reason: 'Perspective conversion carries no email or phone',
    });
  });
});
