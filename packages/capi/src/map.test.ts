import { describe, expect, it } from 'vitest';
import { parseCapiCredentials } from './config';
import { actionSourceOf, type CapiSource, centsToValue, eventIdOf, planSends } from './map';

// Independently computed digests (`printf '%s' value | sha256sum`).
const h = {
  contactId: 'b454f82c5857ebabf342b7258e5cf7def78b7cd975814119462973de9a38df10',
  maria: {
    em: 'ceea7b686c43f044fffaab488a94d05dca6d2a7fb3b79b7c0adfb3e43574f7bf',
    ph: '30867b8c6400543683e129a21302f56f4283205ed0037c788f82017cc34fd8c4',
  },
  dana: {
    em: 'a31ee12231dee1a36f1c8a7c98a310d45a55b934521b976df25208cb3774f4a8',
    ph: 'da07de17fc59af69d7f21d5f43936049e824164b20a3bc657b7c71b10e0fdc58',
  },
  jane: {
    em: '8c87b489ce35cf2e2f39f80e282cb2e804932a56a213983eeeb428407d43b52d',
    ph: 'd6736136ea896c1bfdc553e0e86e702c70d060d805696ca3e4e9e0961353860a',
  },
  pat: {
    em: 'fe9733fcc96501276776fc927df08a395835461a2c5b12c65ebab3454877e227',
    ph: '1ef970831d7963307784fa8688e8fce101a15685d62aa765fed23f3a2c576a4e',
  },
  fn: {
    maria: '94aec9fbed989ece189a7e172c9cf41669050495152bc4c1dbf2a38d7fd85627',
    dana: '2c9e0a2585dc7406589a3724f0027811506e0f133726303a15d6779d532a2573',
    jane: '81f8f6dde88365f3928796ec7aa53f72820b06db8664f5fe76a7eb13e24546a2',
    pat: '68d753f055b1a15b39499fdbbe86d614f986d0e50e62817b38e86b20a0935f82',
  },
  ln: {
    lopez: '0e66633604475ead7445c5e5f987d6450c23687eccf37665e3924541a7f8f6b3',
    doe: '799ef92a11af918e3fb741df42934f3b568ed2d93ac1df74f1b8d41a27932a6f',
    kim: '26ae784d194a5760464348329af4eb9fca2b27bbf823742c968a61543e3a1153',
  },
};

const now = new Date('2026-12-04T12:00:00Z');
const target = parseCapiCredentials(
  { id: 't', slug: 'acme' },
  { dataset_id: '1', access_token: 'x', events: { appointment_scheduled: 'Schedule' } },
);

function source(over: Partial<CapiSource>): CapiSource {
  return {
    funnelEventId: '11111111-1111-4111-8111-111111111111',
    contactId: '22222222-2222-4222-8222-222222222222',
    eventType: 'contact_subscribed',
    occurredAt: new Date('2026-12-03T10:00:00Z'),
    source: 'manychat',
    sourceEventId: 'mc-dedupe-1',
    webhookLogId: 7,
    data: {},
    emails: [],
    phones: [],
    firstName: null,
    lastName: null,
    adId: null,
    adsetId: null,
    campaignId: null,
    isFirst: false,
    valueCents: null,
    currency: null,
    ...over,
  };
}

describe('planSends: one mapping per source', () => {
  it('ManyChat first event → Lead, action_source chat, hashed user data, ad attribution as custom data', () => {
    const [lead, ...rest] = planSends(
      source({
        isFirst: true,
        emails: ['Maria.Lopez@Example.com', null, null],
        phones: ['+15552013344'],
        firstName: 'Maria',
        lastName: 'Lopez',
        adId: '120210987654320001',
        adsetId: '2201',
        campaignId: '3301',
      }),
      target,
      now,
    );
    expect(rest).toEqual([]);
    expect(lead).toMatchObject({ eventName: 'Lead', status: 'pending', eventId: 'mc-dedupe-1', webhookLogId: 7 });
    expect(lead?.payload).toEqual({
      event_name: 'Lead',
      event_time: Date.parse('2026-12-03T10:00:00Z') / 1000,
      event_id: 'mc-dedupe-1',
      action_source: 'chat',
      user_data: {
        em: [h.maria.em],
        ph: [h.maria.ph],
        fn: h.fn.maria,
        ln: h.ln.lopez,
        external_id: [h.contactId],
      },
      custom_data: { ad_id: '120210987654320001', adset_id: '2201', campaign_id: '3301', funnel_event: 'contact_subscribed' },
    });
  });

  it('an ad id that is not a Meta ad id (free text, personal data) is never sent: custom data is not hashed', () => {
    for (const adId of ['jane.doe@example.com +1 555 010 0199', '{{ad.id}}', '12 34']) {
      const [lead] = planSends(source({ isFirst: true, emails: ['a@example.com', null, null], adId }), target, now);
      expect(lead?.payload?.custom_data).toEqual({ funnel_event: 'contact_subscribed' });
      expect(JSON.stringify(lead?.payload)).not.toContain('jane');
    }
  });

  it('ManyChat later event that is not mapped → nothing to send', () => {
    expect(planSends(source({ eventType: 'link_clicked' }), target, now)).toEqual([]);
  });

  it('GHL appointment (mapped to Schedule) → system_generated, booking email hashed', () => {
    const [s] = planSends(
      source({
        eventType: 'appointment_scheduled',
        source: 'ghl',
        sourceEventId: 'ghl-wh-9',
        emails: [null, 'dana.k@example.com'],
        phones: ['+15552017788'],
        firstName: 'Dana',
      }),
      target,
      now,
    );
    expect(s?.eventName).toBe('Schedule');
    expect(s?.payload).toMatchObject({
      event_name: 'Schedule',
      event_id: 'ghl-wh-9',
      action_source: 'system_generated',
      user_data: { em: [h.dana.em], ph: [h.dana.ph], fn: h.fn.dana },
    });
    expect(s?.payload?.user_data.ln).toBeUndefined();
  });

  it('Stripe purchase → Purchase with value and currency from the payment', () => {
    const [s] = planSends(
      source({
        eventType: 'purchase_completed',
        source: 'stripe',
        sourceEventId: 'payment:cs_test_1',
        emails: [null, null, 'Jane@Example.com'],
        phones: ['+15551234567'],
        firstName: 'Jane',
        lastName: 'Doe',
        valueCents: 249_700,
        currency: 'usd',
      }),
      target,
      now,
    );
    expect(s?.payload).toMatchObject({
      event_name: 'Purchase',
      event_id: 'payment:cs_test_1',
      action_source: 'system_generated',
      user_data: { em: [h.jane.em], ph: [h.jane.ph], fn: h.fn.jane, ln: h.ln.doe },
      custom_data: { value: 2497, currency: 'USD', funnel_event: 'purchase_completed' },
    });
  });

  it('a purchase in a zero-decimal currency (Stripe sends ¥5,000 as 5000) → value 5000, not 50', () => {
    const [s] = planSends(
      source({ eventType: 'purchase_completed', source: 'stripe', sourceEventId: 'payment:cs_jpy', valueCents: 5_000, currency: 'jpy' }),
      target,
      now,
    );
    expect(s?.payload?.custom_data).toMatchObject({ value: 5_000, currency: 'JPY' });
  });

  it('Denefits plan as the person’s first event → Lead and Purchase (whole contract value), same event_id', () => {
    const sends = planSends(
      source({
        eventType: 'payment_plan_created',
        source: 'denefits',
        sourceEventId: 'payment:DNF1_plan',
        isFirst: true,
        emails: ['pat@example.com'],
        phones: ['+15559876543'],
        firstName: 'Pat',
        lastName: 'Kim',
        valueCents: 600_050,
        currency: 'usd',
      }),
      target,
      now,
    );
    expect(sends.map((s) => s.eventName)).toEqual(['Lead', 'Purchase']);
    expect(sends.map((s) => s.payload?.event_id)).toEqual(['payment:DNF1_plan', 'payment:DNF1_plan']);
    expect(sends[0]?.payload?.custom_data).toEqual({ funnel_event: 'payment_plan_created' });
    expect(sends[1]?.payload?.custom_data).toMatchObject({ value: 6000.5, currency: 'USD' });
    expect(sends[1]?.payload?.user_data).toMatchObject({ em: [h.pat.em], ph: [h.pat.ph], fn: h.fn.pat, ln: h.ln.kim });
  });

  it('Perspective form: system_generated, unless the page and browser are known (then website)', () => {
    const [plain] = planSends(source({ eventType: 'form_submitted', source: 'perspective', isFirst: true }), target, now);
    expect(plain?.payload?.action_source).toBe('system_generated');
    const [web] = planSends(
      source({
        eventType: 'form_submitted',
        source: 'perspective',
        isFirst: true,
        data: { event_source_url: 'https://funnel.example/a', client_user_agent: 'Mozilla/5.0' },
      }),
      target,
      now,
    );
    expect(web?.payload).toMatchObject({
      action_source: 'website',
      event_source_url: 'https://funnel.example/a',
      user_data: { client_user_agent: 'Mozilla/5.0' },
    });
  });
});

describe('planSends: what is not sent, and why', () => {
  it('older than Meta’s 7-day window → skipped with a reason, no payload', () => {
    const sends = planSends(source({ isFirst: true, occurredAt: new Date('2026-11-26T11:00:00Z') }), target, now);
    expect(sends).toEqual([
      expect.objectContaining({ eventName: 'Lead', status: 'skipped', payload: null, reason: expect.stringMatching(/7 days/) }),
    ]);
  });

  it('a Purchase without a payment value → skipped (Meta would refuse the whole batch)', () => {
    const [s] = planSends(source({ eventType: 'purchase_completed', source: 'ghl' }), target, now);
    expect(s).toMatchObject({ status: 'skipped', reason: 'Purchase without a payment value', payload: null });
  });

  it('a provider clock ahead of ours: event_time clamped to now', () => {
    const [s] = planSends(source({ isFirst: true, occurredAt: new Date('2026-12-04T12:05:00Z') }), target, now);
    expect(s?.payload?.event_time).toBe(now.getTime() / 1000);
  });

  it('names already recorded for the funnel event are not planned again (a replayed Purchase keeps its Lead)', () => {
    const src = source({ eventType: 'purchase_completed', isFirst: false, valueCents: 100, currency: 'usd', recorded: ['Lead'] });
    expect(planSends(src, target, now).map((s) => s.eventName)).toEqual(['Purchase']);
    expect(planSends({ ...src, recorded: ['Purchase'] }, target, now)).toEqual([]);
  });

  it('lead: false sends no Lead', () => {
    const noLead = { ...target, lead: false };
    expect(planSends(source({ isFirst: true }), noLead, now)).toEqual([]);
  });
});

describe('helpers', () => {
  it('event ids: the dedupe key, hashed only when over-long', () => {
    expect(eventIdOf('evt_1')).toBe('evt_1');
    expect(eventIdOf('x'.repeat(300))).toMatch(/^[0-9a-f]{64}$/);
  });
  it("cents to value, in the currency's own minor units", () => {
    expect(centsToValue(10, 'usd')).toBe(0.1);
    expect(centsToValue(123_456_789, 'EUR')).toBe(1_234_567.89);
    // A reviewer (stop 28): Stripe sends zero-decimal currencies in whole units; ¥5,000 went to Meta as 50.
    expect(centsToValue(5_000, 'jpy')).toBe(5_000);
    expect(centsToValue(1_500, 'kwd')).toBe(1.5);
  });
  it('action source per source', () => {
    expect(actionSourceOf('manychat', {})).toBe('chat');
    expect(actionSourceOf('stripe', {})).toBe('system_generated');
    expect(actionSourceOf('denefits', {})).toBe('system_generated');
  });
});
