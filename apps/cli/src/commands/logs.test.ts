import { describe, expect, it } from 'vitest';
import { describeNoLogs } from './logs';

describe('describeNoLogs (what `mcb logs` searched when nothing matches)', () => {
  it('names the default 24 h window and how to look further back', () => {
    expect(describeNoLogs({})).toBe('No logs match (received in the last 24h; --since 7d or --since <date> to look further back).');
    expect(describeNoLogs({ since: '24h' })).toBe(
      'No logs match (received in the last 24h; --since 7d or --since <date> to look further back).',
    );
  });

  it('names the filters and the window the operator gave', () => {
    expect(describeNoLogs({ status: 'failed', source: 'stripe', since: '7d', query: ' cli3@example.com ' })).toBe(
      'No logs match (status failed, source stripe, text "cli3@example.com", received in the last 7d).',
    );
    expect(describeNoLogs({ since: '2026-11-01', until: '2026-11-08' })).toBe(
      'No logs match (received since 2026-11-01 before 2026-11-08).',
    );
    expect(describeNoLogs({ since: '30d', until: '2h' })).toBe('No logs match (received in the last 30d until 2h ago).');
    expect(describeNoLogs({ query: '  ' })).toBe(
      'No logs match (received in the last 24h; --since 7d or --since <date> to look further back).',
    );
  });
});
