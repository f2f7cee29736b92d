import { describe, expect, it } from 'vitest';
import { eventDetail, lookupPhones, phoneLookupHint, storedPhoneCountry } from './contact';

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
  const noCountry = { slug: 'tokyo', phoneCountry: null };

  it('without a phone_country: a national number has no reading; says so and how to set the country', () => {
    expect(phoneLookupHint('09012345678', noCountry)).toBe(
      " (phones are matched in international form, and tenant tokyo has no phone_country to read the national number 09012345678 with: give it with + and the country code, e.g. +<country code>9012345678, or set the tenant's country: mcb tenant update tokyo --phone-country <ISO country code, e.g. GB>)",
    );
    expect(phoneLookupHint(' (020) 7946 0018 ', noCountry)).toContain('the national number (020) 7946 0018 with: ');
    // 10 digits are still North American: how it was read, and the country field for the tenant that is not.
    expect(phoneLookupHint('7700 900456', noCountry)).toBe(
      " (phones are matched in international form: 7700 900456 was read as +17700900456; give it with + and the country code, e.g. +<country code>7700900456, or set the tenant's country for numbers written without one: mcb tenant update tokyo --phone-country <ISO country code, e.g. GB>)",
    );
  });

  it("with a phone_country: says how it was read with the tenant's country", () => {
    expect(phoneLookupHint('07700 900456', { slug: 'brightsmile', phoneCountry: 'GB' })).toBe(
      " (phones are matched in international form: 07700 900456 was read as +447700900456, a number of GB, the tenant's phone_country; give a number of another country with + and its country code)",
    );
    // Not a number of the tenant's country: said so, not that the tenant has none (operator walk, stop 37).
    expect(phoneLookupHint('07700 900456', { slug: 'ukco', phoneCountry: 'US' })).toBe(
      " (phones are matched in international form, and 07700 900456 is not a number of US, tenant ukco's phone_country: give it with + and the country code, e.g. +<country code>7700900456)",
    );
  });

  it('adds nothing for an email, a number written with +, an id with letters or too few digits', () => {
    for (const tenant of [noCountry, { slug: 'brightsmile', phoneCountry: 'GB' }]) {
      for (const identifier of ['ann@example.com', '+81 90 1234 5678', 'cus_123456789', 'ghl-abc', '12345', '0123']) {
        expect(phoneLookupHint(identifier, tenant), identifier).toBe('');
      }
    }
  });
});

describe('lookupPhones', () => {
  it("reads a national number with the tenant's country, and also as it was stored before tenants had one (+0…)", () => {
    expect(lookupPhones('07700 900456', 'GB')).toEqual(['+447700900456', '+07700900456']);
    expect(lookupPhones('+44 7700 900456', 'GB')).toEqual(['+447700900456']);
    expect(lookupPhones('07700900456', null)).toEqual(['+07700900456']);
    expect(lookupPhones('(555) 201-3344', null)).toEqual(['+15552013344']);
    expect(lookupPhones('(555) 201-3344', 'US')).toEqual(['+15552013344']);
    expect(lookupPhones('ann@example.com', 'GB')).toEqual([]);
  });
});

describe('storedPhoneCountry', () => {
  it('reads the stored phone_country as the normalizers do: upper case, none when unset or not a country', () => {
    expect(storedPhoneCountry({ phone_country: 'GB' })).toBe('GB');
    expect(storedPhoneCountry({ phone_country: 'gb' })).toBe('GB');
    for (const phone_country of [undefined, null, 'UK', 44, '']) expect(storedPhoneCountry({ phone_country })).toBeNull();
  });
});
