import { describe, expect, it } from 'vitest';
import { receiverBaseUrl } from './urls';

describe('receiverBaseUrl (mcb urls)', () => {
  it('is PUBLIC_BASE_URL when set, else the local receiver on PORT, else port 3000', () => {
    expect(receiverBaseUrl({ PUBLIC_BASE_URL: 'https://hooks.example.com/', PORT: 4000 })).toBe('https://hooks.example.com');
    expect(receiverBaseUrl({ PORT: 4000 })).toBe('http://127.0.0.1:4000');
    expect(receiverBaseUrl({})).toBe('http://127.0.0.1:3000');
  });
});
