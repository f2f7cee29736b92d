import { describe, expect, it } from 'vitest';
import { checkSameOrigin } from './same-origin';

const proof = { requireProof: true };

describe('checkSameOrigin', () => {
  it('Sec-Fetch-Site decides when present: only same-origin passes', () => {
    expect(checkSameOrigin({ 'sec-fetch-site': 'same-origin', host: 'c.example' }, proof).ok).toBe(true);
    for (const site of ['cross-site', 'same-site', 'none']) {
      expect(checkSameOrigin({ 'sec-fetch-site': site, origin: 'https://c.example', host: 'c.example' }, proof)).toEqual({
        ok: false,
        reason: `Sec-Fetch-Site: ${site}`,
      });
    }
  });

  it('else Origin must carry the request Host (any scheme: TLS may end at a proxy)', () => {
    expect(checkSameOrigin({ origin: 'https://c.example', host: 'c.example' }, proof).ok).toBe(true);
    expect(checkSameOrigin({ origin: 'http://127.0.0.1:3001', host: '127.0.0.1:3001' }, proof).ok).toBe(true);
    expect(checkSameOrigin({ origin: 'https://evil.example', host: 'c.example' }, proof).ok).toBe(false);
    expect(checkSameOrigin({ origin: 'https://c.example.evil.example', host: 'c.example' }, proof).ok).toBe(false);
    expect(checkSameOrigin({ origin: 'http://127.0.0.1:3002', host: '127.0.0.1:3001' }, proof).ok).toBe(false);
    expect(checkSameOrigin({ origin: 'null', host: 'c.example' }, proof)).toEqual({ ok: false, reason: 'Origin: null' });
    expect(checkSameOrigin({ origin: '::::', host: 'c.example' }, proof).ok).toBe(false);
  });

  it('a configured origin (console behind a proxy that rewrites Host) is the only one accepted', () => {
    const opts = { requireProof: true, allowedOrigin: 'https://console.agency.example/' };
    expect(checkSameOrigin({ origin: 'https://console.agency.example', host: 'internal:3001' }, opts).ok).toBe(true);
    expect(checkSameOrigin({ origin: 'http://console.agency.example', host: 'console.agency.example' }, opts).ok).toBe(false);
  });

  it('no header at all: refused with a session cookie, allowed without (curl signing in)', () => {
    expect(checkSameOrigin({ host: 'c.example' }, proof)).toEqual({ ok: false, reason: 'no Origin or Sec-Fetch-Site header' });
    expect(checkSameOrigin({ host: 'c.example' }, { requireProof: false }).ok).toBe(true);
    expect(checkSameOrigin({ host: 'c.example', origin: 'https://evil.example' }, { requireProof: false }).ok).toBe(false);
  });
});
