import { describe, expect, it } from 'vitest';
import { readFixture } from '../test-fixtures';
import { normalizeManyChat, normalizeManyChatSubscriber } from './normalize';

const config = {};
const fixture = (name: string) => readFixture('manychat', name);

const maria = {
  mcId: '1029384756',
  phone: '+15552013344',
  firstName: 'Maria',
  lastName: 'Lopez',
  igUsername: 'maria.lopez.fit',
  igId: '6384638',
  source: 'instagram_ad',
  adId: '120210987654320001',
  tags: { chatbot: 'B' },
};

describe('normalizeManyChat', () => {
  it('contact_created → contact_subscribed with identity mc_id, email, E.164 phone, first-touch fields and chatbot tag', () => {
    expect(normalizeManyChat(fixture('contact-created'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'manychat',
          eventType: 'contact_created',
          contact: {
            identity: { mcId: '1029384756', emails: ['Maria.Lopez@example.com'], phone: '+15552013344' },
            fields: { ...maria, emailPrimary: 'Maria.Lopez@example.com' },
          },
          funnelEvent: { type: 'contact_subscribed' },
        },
      ],
    });
  });

  it('dm_qualified as named', () => {
    const result = normalizeManyChat(fixture('dm-qualified'), config);
    expect(result).toMatchObject({ kind: 'events', events: [{ eventType: 'dm_qualified', funnelEvent: { type: 'dm_qualified' } }] });
  });

  it('link_sent: email falls back to MCB_SEARCH_EMAIL when `email` is empty', () => {
    expect(normalizeManyChat(fixture('link-sent'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'manychat',
          eventType: 'link_sent',
          contact: {
            identity: { mcId: '1029384756', emails: ['maria.l@example.org'], phone: '+15552013344' },
            fields: { ...maria, emailPrimary: 'maria.l@example.org' },
          },
          funnelEvent: { type: 'link_sent' },
        },
      ],
    });
  });

  it('no event_type: inferred from the furthest flag (array body, first element)', () => {
    const result = normalizeManyChat(fixture('link-clicked-inferred'), config);
    expect(result).toMatchObject({ kind: 'events', events: [{ eventType: 'link_clicked', funnelEvent: { type: 'link_clicked' } }] });
  });

  it.each([
    [{ MCB_SENT_LINK: true, MCB_LEAD: true }, 'link_sent', 'link_sent'],
    [{ MCB_LEAD_CONTACT: 'yes', MCB_LEAD: true }, 'dm_qualified', 'dm_qualified'],
    [{ MCB_LEAD: 1 }, 'contact_created', 'contact_subscribed'],
    [{ MCB_LEAD: 'false', MCB_CLICKED_LINK: 0 }, 'contact_update', 'contact_updated'],
    [{}, 'contact_update', 'contact_updated'],
  ])('infers %j → %s', (flags, eventType, type) => {
    const result = normalizeManyChat({ subscriber: { id: '42', custom_fields: flags } }, config);
    expect(result).toMatchObject({ kind: 'events', events: [{ eventType, funnelEvent: { type } }] });
  });

  it('contact_update with blank fields: only the mc_id and the default source, nothing empty', () => {
    expect(normalizeManyChat(fixture('contact-update'), config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'manychat',
          eventType: 'contact_update',
          contact: {
            identity: { mcId: '1029384757' },
            fields: { mcId: '1029384757', firstName: 'Dana', igUsername: 'dana.k', igId: '6384640', source: 'instagram' },
          },
          funnelEvent: { type: 'contact_updated' },
        },
      ],
    });
  });

  it('{subscriber_id, event_type} only → needs_fetch', () => {
    expect(normalizeManyChat(fixture('subscriber-id-only'), config)).toStrictEqual({
      kind: 'needs_fetch',
      eventType: 'link_clicked',
      subscriberId: '1029384756',
    });
    expect(normalizeManyChat({ subscriber_id: 77 }, config)).toStrictEqual({ kind: 'needs_fetch', eventType: null, subscriberId: '77' });
  });

  it('unknown event_type → ignored with the reason', () => {
    expect(normalizeManyChat(fixture('unknown-event'), config)).toStrictEqual({
      kind: 'ignored',
      eventType: 'story_mention',
      reason: 'unknown ManyChat event_type "story_mention"',
    });
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'event_type %s is data, not an object key: ignored, never a funnel event',
    (eventType) => {
      const expected = { kind: 'ignored', eventType, reason: `unknown ManyChat event_type "${eventType}"` };
      expect(normalizeManyChat({ subscriber: { id: '42' }, event_type: eventType }, config)).toStrictEqual(expected);
      expect(normalizeManyChat({ subscriber_id: '42', event_type: eventType }, config)).toStrictEqual(expected);
    },
  );

  it('whatsapp_phone is the phone when `phone` is empty, never over a real phone', () => {
    const whatsapp = normalizeManyChat(
      { subscriber: { id: '42', phone: '', whatsapp_phone: '+44 7700 900123' }, event_type: 'contact_update' },
      config,
    );
    expect(whatsapp).toMatchObject({
      kind: 'events',
      events: [{ contact: { identity: { mcId: '42', phone: '+447700900123' }, fields: { phone: '+447700900123' } } }],
    });
    const both = normalizeManyChat(
      { subscriber: { id: '42', phone: '+1 555 201 3344', whatsapp_phone: '+44 7700 900123' }, event_type: 'contact_update' },
      config,
    );
    expect(both).toMatchObject({ events: [{ contact: { identity: { phone: '+15552013344' }, fields: { phone: '+15552013344' } } }] });
  });

  it('no subscriber id at all → invalid', () => {
    expect(normalizeManyChat({ event_type: 'link_sent' }, config)).toMatchObject({ kind: 'invalid', eventType: 'link_sent' });
    expect(normalizeManyChat('hello', config)).toMatchObject({ kind: 'invalid', eventType: null });
  });
});

describe('normalizeManyChatSubscriber (after GET /fb/subscriber/getInfo)', () => {
  it('reads the API shape: custom_fields array, numeric ig_id, subscribed time for contact_subscribed', () => {
    expect(normalizeManyChatSubscriber(fixture('getinfo-response'), 'contact_created', config)).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'manychat',
          eventType: 'contact_created',
          occurredAt: '2026-11-02T19:21:07.000Z',
          contact: {
            identity: { mcId: '1029384756', emails: ['Maria.Lopez@example.com'], phone: '+15552013344' },
            fields: { ...maria, emailPrimary: 'Maria.Lopez@example.com' },
          },
          funnelEvent: { type: 'contact_subscribed', occurredAt: '2026-11-02T19:21:07.000Z' },
        },
      ],
    });
  });

  it('null event type → inferred from the fetched flags; accepts the bare `data` object too', () => {
    const data = (fixture('getinfo-response') as { data: unknown }).data;
    expect(normalizeManyChatSubscriber(data, null, config)).toMatchObject({
      kind: 'events',
      events: [{ eventType: 'link_clicked', funnelEvent: { type: 'link_clicked' } }],
    });
  });

  it('an error answer or a subscriber without id → invalid', () => {
    expect(normalizeManyChatSubscriber({ status: 'error', message: 'Subscriber does not exist' }, 'link_sent', config)).toMatchObject({
      kind: 'invalid',
    });
    expect(normalizeManyChatSubscriber(null, null, config)).toMatchObject({ kind: 'invalid' });
  });
});

// issue 16: ManyChat's External Request sends "Full Contact Data" either wrapped or as the body itself.
describe('normalizeManyChat: the flat Full Contact Data body', () => {
  const flatFields = { ...maria, emailPrimary: 'Maria.Lopez@example.com' };

  it('the contact object as the whole body, with event_type beside its fields, is the same event as the wrapped form', () => {
    const flat = normalizeManyChat(fixture('full-contact-data-flat'), config);
    expect(flat).toStrictEqual({
      kind: 'events',
      events: [
        {
          source: 'manychat',
          eventType: 'link_sent',
          contact: { identity: { mcId: '1029384756', emails: ['Maria.Lopez@example.com'], phone: '+15552013344' }, fields: flatFields },
          funnelEvent: { type: 'link_sent' },
        },
      ],
    });
    const { event_type, ...subscriber } = fixture('full-contact-data-flat') as Record<string, unknown>;
    expect(normalizeManyChat({ subscriber, event_type }, config)).toStrictEqual(flat);
    // A JSON array body (one event, its first element) reads the same.
    expect(normalizeManyChat([fixture('full-contact-data-flat')], config)).toStrictEqual(flat);
  });

  it('without event_type in the body, the URL ?event= (the log hint) names the event; the body wins when it has one', () => {
    const body = fixture('full-contact-data-flat-no-event');
    expect(normalizeManyChat(body, config, { eventType: 'link_clicked' })).toMatchObject({
      kind: 'events',
      events: [{ eventType: 'link_clicked', funnelEvent: { type: 'link_clicked' } }],
    });
    // No hint: the furthest MCB_* flag (SENT_LINK) names it, as for the wrapped form.
    expect(normalizeManyChat(body, config)).toMatchObject({ events: [{ eventType: 'link_sent' }] });
    expect(normalizeManyChat(fixture('full-contact-data-flat'), config, { eventType: 'link_clicked' })).toMatchObject({
      events: [{ eventType: 'link_sent' }],
    });
    expect(normalizeManyChat({ subscriber_id: '1029384756' }, config, { eventType: 'dm_qualified' })).toStrictEqual({
      kind: 'needs_fetch',
      eventType: 'dm_qualified',
      subscriberId: '1029384756',
    });
  });

  it('a body with no subscriber in any shape is invalid with a reason that says what to send', () => {
    for (const body of [{ event_type: 'link_sent' }, { subscriber: { first_name: 'X' } }]) {
      const result = normalizeManyChat(body, config);
      expect(result).toMatchObject({ kind: 'invalid' });
      expect((result as { reason: string }).reason).toMatch(/^ManyChat body has no subscriber id: send the contact as the body itself/);
    }
    // An id alone is not a contact, and the answer says that rather than "no subscriber id".
    for (const body of [{ id: '1', event_type: 'link_sent' }, { id: 300000009 }]) {
      const result = normalizeManyChat(body, config);
      expect(result).toMatchObject({ kind: 'invalid' });
      expect((result as { reason: string }).reason).toMatch(
        /^ManyChat body has an id but no contact field \(name, email, phone, custom_fields, …\): send the contact as the body itself/,
      );
    }
  });
});
