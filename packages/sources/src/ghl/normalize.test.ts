import { describe, expect, it } from 'vitest';
import { tagLimits } from '../result';
import { readFixture } from '../test-fixtures';
import { normalizeGhl, resolveGhlStage } from './normalize';

const fixture = (name: string) => readFixture('ghl', name) as Record<string, unknown>;
const ghlId = 'nmFmQEsNgz6AVpgLVUJ0';
const person = { ghlId, phone: '+15552013344', firstName: 'Maria', lastName: 'Lopez' };

describe('normalizeGhl — workflow action bodies', () => {
  it(`keeps at most ${tagLimits.perEvent} tags of an event, none with an over-long key or value (a sender's 90,000 keys cost 4 s per event)`, () => {
    const tags: Record<string, unknown> = { ['k'.repeat(101)]: 'long key', big: 'v'.repeat(2_049), nested: { ok: true } };
    for (let i = 0; i < 90_000; i++) tags[`t${i}`] = i;
    const result = normalizeGhl({ contact_id: 'c-tags', email: 'tags@example.com', customData: { tags } }, {});
    expect(result.kind).toBe('events');
    const kept = result.kind === 'events' ? (result.events[0]?.contact?.fields.tags ?? {}) : {};
    expect(Object.keys(kept)).toHaveLength(tagLimits.perEvent);
    expect(kept).toMatchObject({ nested: { ok: true }, t0: 0, t98: 98 });
    expect(kept).not.toHaveProperty('big');
    expect(kept).not.toHaveProperty('t99');
  });

  it(`keeps the first ${tagLimits.listEntries} entries of a tag list rather than dropping it, and never takes __proto__ as a tag`, () => {
    const list = Array.from({ length: 200 }, (_, i) => `customer-tag-${i}`);
    const listed = normalizeGhl({ contact_id: 'c-list', email: 'list@example.com', customData: { tags: list.join(',') } }, {});
    const listTags = listed.kind === 'events' ? listed.events[0]?.contact?.fields.tags : undefined;
    expect(listTags).toEqual({ ghl_tags: list.slice(0, tagLimits.listEntries) });
    const proto = JSON.parse('{"contact_id":"c-proto","email":"p@example.com","customData":{"tags":{"__proto__":{"polluted":1},"a":1}}}');
    const result = normalizeGhl(proto, {});
    const kept = result.kind === 'events' ? (result.events[0]?.contact?.fields.tags ?? {}) : {};
    expect(Object.keys(kept)).toEqual(['a']);
    expect((kept as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it(`reads at most ${tagLimits.listScanned} entries of a tag list, as text or an array (a 1 MB "a,a,a,…" took 130–180 ms)`, () => {
    const text = `${'a,'.repeat(499_999)}last`;
    const started = performance.now();
    const result = normalizeGhl({ contact_id: 'c-comma', customData: { tags: text } }, {});
    const ms = performance.now() - started;
    expect(result.kind === 'events' ? result.events[0]?.contact?.fields.tags : undefined).toEqual({
      ghl_tags: Array.from({ length: tagLimits.listEntries }, () => 'a'),
    });
    expect(ms).toBeLessThan(50);
    // Past the entries it looks at, nothing is read: 1,000 tags too long to keep, then one that would be kept.
    for (const tags of [[...Array.from({ length: tagLimits.listScanned }, () => 'x'.repeat(101)), 'late'], `${',,'.repeat(500)}late`]) {
      const later = normalizeGhl({ contact_id: 'c-late', email: 'late@example.com', tags }, {});
      expect(later.kind === 'events' ? later.events[0]?.contact?.fields.tags : 'not events').toBeUndefined();
    }
  });

  it('customData.event_type form_filled → form_submitted; MC_ID links ManyChat; top-level email wins → email_booking', () => {
    expect(normalizeGhl(fixture('workflow-form-filled'), {})).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'ghl',
          eventType: 'form_filled',
          contact: {
            identity: { ghlId, mcId: '1029384756', emails: ['maria.booking@example.com'], phone: '+15552013344' },
            fields: {
              ...person,
              mcId: '1029384756',
              emailBooking: 'maria.booking@example.com',
              adId: '120210987654320001',
              source: 'instagram',
              tags: { ghl_tags: ['lead', 'discovery'] },
            },
          },
          funnelEvent: { type: 'form_submitted' },
        },
      ],
    });
  });

  it('customData.email is used when there is no top-level email', () => {
    const body = fixture('workflow-form-filled');
    delete body.email;
    expect(normalizeGhl(body, {})).toMatchObject({
      events: [{ contact: { identity: { emails: ['maria.other@example.com'] }, fields: { emailBooking: 'maria.other@example.com' } } }],
    });
  });

  it('no event_type: stage "DC BOOKED" (pipleline_stage, sic) → appointment_scheduled with the stage in data', () => {
    expect(normalizeGhl(fixture('workflow-stage-dc-booked'), {})).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'ghl',
          eventType: 'stage:DC BOOKED',
          contact: {
            identity: { ghlId, emails: ['maria.booking@example.com'], phone: '+15552013344' },
            fields: {
              ...person,
              emailBooking: 'maria.booking@example.com',
              source: 'discovery form',
              tags: { ghl_tags: ['lead', 'discovery'] },
            },
          },
          funnelEvent: { type: 'appointment_scheduled', data: { stage: 'DC BOOKED', pipeline: 'FREE DISCOVERY CALL PIPELINE' } },
        },
      ],
    });
  });

  it('stage "NO SHOW" → ignored; "Package Sent" → package_sent; a stage with "form" → form_submitted', () => {
    expect(normalizeGhl(fixture('workflow-stage-no-show'), {})).toStrictEqual({
      kind: 'ignored',
      eventType: 'stage:NO SHOW',
      reason: 'GHL stage "NO SHOW" is ignored by the stage map',
    });
    expect(normalizeGhl(fixture('workflow-stage-package'), {})).toMatchObject({ events: [{ funnelEvent: { type: 'package_sent' } }] });
    const form = { ...fixture('workflow-stage-dc-booked'), pipleline_stage: undefined, pipeline_stage: 'Form Filled' };
    expect(normalizeGhl(form, {})).toMatchObject({ events: [{ funnelEvent: { type: 'form_submitted', data: { stage: 'Form Filled' } } }] });
  });

  it('"Completed DC" → appointment_held; an unmapped stage is a plain contact update', () => {
    const held = { ...fixture('workflow-stage-dc-booked'), pipleline_stage: 'completed  dc' };
    expect(normalizeGhl(held, {})).toMatchObject({ events: [{ funnelEvent: { type: 'appointment_held' } }] });
    const other = { ...fixture('workflow-stage-dc-booked'), pipleline_stage: 'Nurture' };
    expect(normalizeGhl(other, {})).toMatchObject({ events: [{ funnelEvent: { type: 'contact_updated' } }] });
  });

  it('the tenant stage map is merged over the defaults (case-insensitive keys)', () => {
    const config = { ghl: { stage_map: { 'dc booked': 'ignored', 'Consult Done': 'meeting_attended', Nurture: 'purchased!' } } };
    expect(normalizeGhl(fixture('workflow-stage-dc-booked'), config)).toMatchObject({ kind: 'ignored' });
    const consult = { ...fixture('workflow-stage-dc-booked'), pipleline_stage: 'CONSULT DONE' };
    expect(normalizeGhl(consult, config)).toMatchObject({ events: [{ funnelEvent: { type: 'appointment_held' } }] });
    const bad = { ...fixture('workflow-stage-dc-booked'), pipleline_stage: 'Nurture' };
    expect(normalizeGhl(bad, config)).toStrictEqual({
      kind: 'ignored',
      eventType: 'stage:Nurture',
      reason: 'stage map value "purchased!" for "Nurture" is not a funnel event type',
    });
    // Defaults the tenant did not override still apply.
    const noShow = fixture('workflow-stage-no-show');
    expect(normalizeGhl(noShow, config)).toMatchObject({ kind: 'ignored' });
  });

  it('customData.event_type wins over the stage; any funnel event type works by name; unknown ones are ignored', () => {
    const attended = { ...fixture('workflow-stage-no-show'), customData: { event_type: 'meeting_attended' } };
    expect(normalizeGhl(attended, {})).toMatchObject({
      events: [{ eventType: 'meeting_attended', funnelEvent: { type: 'appointment_held' } }],
    });
    const booked = { ...fixture('workflow-stage-no-show'), customData: { event_type: 'MEETING_BOOKED' } };
    expect(normalizeGhl(booked, {})).toMatchObject({ events: [{ funnelEvent: { type: 'appointment_scheduled' } }] });
    const cancelled = { ...fixture('workflow-stage-no-show'), customData: { event_type: 'appointment_cancelled' } };
    expect(normalizeGhl(cancelled, {})).toMatchObject({ events: [{ funnelEvent: { type: 'appointment_cancelled' } }] });
    const unknown = { ...fixture('workflow-stage-no-show'), customData: { event_type: 'webinar_joined' } };
    expect(normalizeGhl(unknown, {})).toStrictEqual({
      kind: 'ignored',
      eventType: 'webinar_joined',
      reason: 'unknown GHL customData.event_type "webinar_joined"',
    });
  });

  it.each(['__proto__', 'constructor', 'toString'])('customData.event_type %s is data, not an object key: ignored', (eventType) => {
    const body = { ...fixture('workflow-stage-no-show'), customData: { event_type: eventType } };
    expect(normalizeGhl(body, {})).toStrictEqual({
      kind: 'ignored',
      eventType,
      reason: `unknown GHL customData.event_type "${eventType}"`,
    });
  });

  it('no identifier at all → invalid', () => {
    expect(normalizeGhl({ customData: { event_type: 'form_filled' }, first_name: 'X' }, {})).toStrictEqual({
      kind: 'invalid',
      eventType: 'form_filled',
      reason: 'GHL body carries no contact id, MC_ID, email or phone',
    });
  });
});

describe('normalizeGhl — marketplace events', () => {
  it('ContactCreate → contact_subscribed at the event timestamp; `id` is the contact', () => {
    expect(normalizeGhl(fixture('contact-create'), {})).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'ghl',
          eventType: 'ContactCreate',
          occurredAt: '2026-11-03T15:02:11.512Z',
          contact: {
            identity: { ghlId, emails: ['maria.booking@example.com'], phone: '+15552013344' },
            fields: { ...person, emailBooking: 'maria.booking@example.com', source: 'discovery form', tags: { ghl_tags: ['lead'] } },
          },
          funnelEvent: { type: 'contact_subscribed', occurredAt: '2026-11-03T15:02:11.512Z' },
        },
      ],
    });
  });

  it('ContactUpdate → contact_updated; ContactDelete → ignored', () => {
    expect(normalizeGhl({ ...fixture('contact-create'), type: 'ContactUpdate' }, {})).toMatchObject({
      events: [{ eventType: 'ContactUpdate', funnelEvent: { type: 'contact_updated' } }],
    });
    expect(normalizeGhl({ ...fixture('contact-create'), type: 'ContactDelete' }, {})).toMatchObject({ kind: 'ignored' });
  });

  it('OpportunityStageUpdate carries only pipelineStageId: mapped through the tenant stage map, else ignored', () => {
    const config = { ghl: { stage_map: { '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a': 'appointment_held' } } };
    expect(normalizeGhl(fixture('opportunity-stage-update'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'ghl',
          eventType: 'OpportunityStageUpdate',
          occurredAt: '2026-11-06T18:30:00.000Z',
          contact: { identity: { ghlId }, fields: { ghlId } },
          funnelEvent: {
            type: 'appointment_held',
            occurredAt: '2026-11-06T18:30:00.000Z',
            data: { pipeline_stage_id: '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a' },
          },
        },
      ],
    });
    expect(normalizeGhl(fixture('opportunity-stage-update'), {})).toStrictEqual({
      kind: 'ignored',
      eventType: 'OpportunityStageUpdate',
      reason: 'GHL stage "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a" is not in the stage map',
    });
  });

  it('AppointmentCreate → appointment_scheduled at booking time, contact from appointment.contactId', () => {
    expect(normalizeGhl(fixture('appointment-create'), {})).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'ghl',
          eventType: 'AppointmentCreate',
          occurredAt: '2026-11-04T16:12:00.000Z',
          contact: { identity: { ghlId }, fields: { ghlId } },
          funnelEvent: {
            type: 'appointment_scheduled',
            occurredAt: '2026-11-04T16:12:00.000Z',
            data: { appointment_id: '0007BWpSzSwfiuSl0tR2', appointment_start: '2026-11-07T22:00:00.000Z' },
          },
        },
      ],
    });
  });

  it.each([
    ['showed', 'events', 'appointment_held'],
    ['cancelled', 'events', 'appointment_cancelled'],
    ['noshow', 'ignored', undefined],
  ])('AppointmentUpdate %s → %s %s', (status, kind, type) => {
    const body = fixture('appointment-create');
    const appointment = { ...(body.appointment as object), appointmentStatus: status };
    const result = normalizeGhl({ ...body, type: 'AppointmentUpdate', appointment }, {});
    expect(result.kind).toBe(kind);
    if (type) expect(result).toMatchObject({ events: [{ funnelEvent: { type } }] });
  });

  it('unhandled types (InboundMessage) → ignored with the reason', () => {
    expect(normalizeGhl(fixture('inbound-message'), {})).toStrictEqual({
      kind: 'ignored',
      eventType: 'InboundMessage',
      reason: 'unhandled GHL event type "InboundMessage"',
    });
  });
});

describe('resolveGhlStage', () => {
  it('matches by name or id, then the package / form word rules', () => {
    expect(resolveGhlStage(['DC Booked'], {})).toStrictEqual({ type: 'appointment_scheduled' });
    expect(resolveGhlStage(['Packages out'], {})).toStrictEqual({ type: 'package_sent' });
    expect(resolveGhlStage(['Platform demo'], {})).toStrictEqual({ unmapped: 'GHL stage "Platform demo" is not in the stage map' });
    expect(resolveGhlStage([undefined], {})).toStrictEqual({ unmapped: 'no GHL stage' });
  });
});
