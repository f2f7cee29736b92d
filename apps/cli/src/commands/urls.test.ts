import { exampleBodies } from '@mcb/tenancy';
import { describe, expect, it } from 'vitest';
import { inReportingCurrency, receiverBaseUrl } from './urls';

describe('receiverBaseUrl (mcb urls)', () => {
  it('is PUBLIC_BASE_URL when set, else the local receiver on PORT, else port 3000', () => {
    expect(receiverBaseUrl({ PUBLIC_BASE_URL: 'https://hooks.example.com/', PORT: 4000 })).toBe('https://hooks.example.com');
    expect(receiverBaseUrl({ PORT: 4000 })).toBe('http://127.0.0.1:4000');
    expect(receiverBaseUrl({})).toBe('http://127.0.0.1:3000');
  });
});

describe('inReportingCurrency (mcb urls example bodies)', () => {
  it("sets Stripe's checkout currency to the tenant's, leaving the rest (and the example itself) as it is", () => {
    const stripe = exampleBodies.stripe as { data: { object: Record<string, unknown> } };
    const gbp = inReportingCurrency(stripe, 'GBP') as typeof stripe;
    expect(gbp.data.object).toEqual({ ...stripe.data.object, currency: 'gbp' });
    expect(stripe.data.object.currency).toBe('usd');
    expect(Object.keys(gbp)).toEqual(Object.keys(stripe));
    for (const source of ['manychat', 'ghl', 'denefits', 'perspective'] as const) {
      expect(inReportingCurrency(exampleBodies[source], 'gbp')).toBe(exampleBodies[source]);
    }
  });
});
