import { McbError } from '@mcb/core';
import { type Database, withTenantSql } from '@mcb/db';
import { type GraphClient, graphClientFor } from '@mcb/meta';
import type { CapiTarget } from './config';
import { hashUserData } from './hash';
import { planSends, type ServerEvent } from './map';
import { type CapiSendSettings, selectCapiCandidatesIn } from './outbox';

export interface CapiTestResult {
  testEventCode: string;
  eventsReceived: number;
  fbtraceId: string | null;
  /** The events as posted (user data hashed). */
  events: ServerEvent[];
  /** True when the tenant had no recent event to send and a synthetic Lead was sent instead. */
  synthetic: boolean;
}

/**
 * `mcb capi test`: posts the tenant's most recent sendable events (up to `limit`, sent or not) with a
 * `test_event_code`, so they show in Events Manager's Test Events tab and nowhere else. Records
 * nothing in `capi_sends`. With no recent event, sends one synthetic Lead. Throws the Graph
 * client's typed errors.
 */
export async function sendCapiTestEvents(options: {
  database: Database;
  target: CapiTarget;
  settings: CapiSendSettings;
  testEventCode?: string | null;
  limit?: number;
  now?: Date;
  client?: GraphClient;
}): Promise<CapiTestResult> {
  const { target } = options;
  const code = options.testEventCode ?? target.testEventCode;
  if (!code)
    throw new McbError('bad_request', `No test_event_code: pass --code or store one in the meta_capi credentials of ${target.slug}`);
  const now = options.now ?? new Date();
  const since = new Date(now.getTime() - 7 * 24 * 3600_000);
  // The most recent events of the window (a backward scan of funnel_events_created_idx), oldest first.
  const sources = await withTenantSql(options.database.sql, target.tenantId, async (tx) => {
    const recent = await tx<{ id: string }[]>`
      select id from funnel_events
      where tenant_id = ${target.tenantId} and created_at >= ${since}
      order by tenant_id desc, created_at desc, id desc
      limit 500`;
    return selectCapiCandidatesIn(
      tx,
      { ...target, lead: target.lead },
      recent.map((r) => r.id),
      { unsentOnly: false },
    );
  });
  sources.sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime());
  let events = sources
    .flatMap((s) => planSends({ ...s, isFirst: s.isFirst }, target, now))
    .filter((p) => p.status === 'pending' && p.payload)
    .map((p) => p.payload as ServerEvent)
    .slice(-(options.limit ?? 5));
  const synthetic = events.length === 0;
  if (synthetic) {
    events = [
      {
        event_name: 'Lead',
        event_time: Math.floor(now.getTime() / 1000),
        event_id: `mcb-test-${now.getTime()}`,
        action_source: 'system_generated',
        user_data: hashUserData({ emails: [], phones: [], firstName: null, lastName: null, externalId: `mcb-test-${target.slug}` }),
        custom_data: { funnel_event: 'mcb_test' },
      },
    ];
  }
  const client =
    options.client ??
    // One retry at most: an operator is waiting on the answer.
    graphClientFor(options.settings, target.accessToken, { maxRetries: 1 });
  const { body } = await client.post<{ events_received?: number; fbtrace_id?: string }>(`${target.datasetId}/events`, {
    data: events,
    test_event_code: code,
  });
  return { testEventCode: code, eventsReceived: body.events_received ?? 0, fbtraceId: body.fbtrace_id ?? null, events, synthetic };
}
