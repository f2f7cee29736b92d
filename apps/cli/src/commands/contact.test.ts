import { describe, expect, it } from 'vitest';
import { eventDetail, phoneLookupHint } from './contact';

describe('eventDetail', () => {
  it("names what the tool sent and keeps the event's own id", () => {
    expect(eventDetail('contact_created', 'evt_1#stage')).toBe('contact_created evt_1#stage');
    expect(eventDetail(null, 'payment:cs_test_1')).toBe('payment:cs_test_1');
  });

  it('shortens a body-hash id (the payload had none) to its first 12 hex digits', () => {
    const hash = `sha256:${'ab12'.repeat(16)}`;
    expect(eventDetail('contact_created', hash)).toBe('contact_created sha256:ab12ab12ab12…');
    expect(eventDetail('contact_created', `${hash}#tag`)).toBe('contact_created sha256:ab12ab12ab12…#tag');
  });
});

describe('phoneLookupHint', () => {
  it('says how a phone without + was read and asks for the international form', () => {
    expect(phoneLookupHint('09012345678')).toBe(
      ' (phones are matched in international form: 09012345678 was read as +09012345678; give it with + and the country code, e.g. +<country code>9012345678)',
    );
    expect(phoneLookupHint(' (020) 7946 0018 ')).toContain('(020) 7946 0018 was read as +02079460018;');
  });

  it('adds nothing for an email, a number written with +, an id with letters or too few digits', () => {
    for (const identifier of ['ann@example.com', '+81 90 1234 5678', 'cus_123456789', 'ghl-abc', '12345']) {
      expect(phoneLookupHint(identifier), identifier).toBe('');
    }
  });
});
