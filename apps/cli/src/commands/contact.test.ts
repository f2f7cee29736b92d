import { describe, expect, it } from 'vitest';
import { eventDetail } from './contact';

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
