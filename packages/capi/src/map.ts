import { createHash } from 'node:crypto';
import { minorUnitsToAmount } from '@mcb/core';
import { type FunnelEventType, isMetaAdId } from '@mcb/sources';
import type { CapiTarget } from './config';
import { leadEventName } from './config';
import { type HashedUserData, hashUserData } from './hash';

/**
 * Meta accepts an `event_time` at most 7 days old, and refuses the WHOLE request when one event is
 * older (Meta "Server Event Parameters"). We skip at 7 days minus a margin, so an event that ages
 * while its request is in flight or waiting out a rate limit never sinks its batch.
 */
export const maxEventAgeMs = 7 * 24 * 3600_000 - 15 * 60_000;

/** A funnel event with what we know about its person and payment, as the outbox query reads it. */
export interface CapiSource {
  funnelEventId: string;
  contactId: string;
  eventType: FunnelEventType;
  occurredAt: Date;
  source: string;
  /** `funnel_events.source_event_id`: the log's dedupe key (+ suffix), or `payment:<id>`. */
  sourceEventId: string;
  webhookLogId: number | null;
  data: Record<string, unknown>;
  emails: Array<string | null>;
  phones: Array<string | null>;
  firstName: string | null;
  lastName: string | null;
  /** First-touch ad of the person, with its ad set and campaign when the Meta sync knows them. */
  adId: string | null;
  adsetId: string | null;
  campaignId: string | null;
  /** This is the person's first funnel event and no Lead was sent for them yet. */
  isFirst: boolean;
  /** The payment behind the event (plans at their whole contract value), integer cents. */
  valueCents: number | null;
  currency: string | null;
  /** Meta event names already recorded in `capi_sends` for this funnel event (not planned again). */
  recorded?: string[];
}

/** One server event as posted to `POST /<dataset>/events` (Meta "Server Event Parameters"). */
export interface ServerEvent {
  event_name: string;
  event_time: number;
  event_id: string;
  action_source: string;
  user_data: HashedUserData & { client_user_agent?: string; client_ip_address?: string };
  custom_data?: Record<string, string | number>;
  event_source_url?: string;
}

/** A row to insert into `capi_sends`: an event to post (`pending`) or one deliberately not sent (`skipped`). */
export interface PlannedSend {
  funnelEventId: string;
  contactId: string;
  webhookLogId: number | null;
  eventName: string;
  eventId: string;
  eventTime: Date;
  status: 'pending' | 'skipped';
  reason: string | null;
  payload: ServerEvent | null;
}

/**
 * Where the conversion happened (Meta `action_source`): ManyChat conversations are `chat`; a web
 * page only when we can say which page and browser (Meta requires `event_source_url` and
 * `client_user_agent` for website events); everything else (CRM, payment systems) is
 * `system_generated`.
 */
export function actionSourceOf(source: string, data: Record<string, unknown>): 'chat' | 'website' | 'system_generated' {
  if (source === 'manychat') return 'chat';
  if (typeof data.event_source_url === 'string' && typeof data.client_user_agent === 'string') return 'website';
  return 'system_generated';
}

/**
 * Meta `event_id`: the funnel event's dedupe key (`source_event_id`), so a browser pixel sending the
 * provider's id deduplicates with ours. Over-long keys are hashed to stay within a sane length.
 */
export function eventIdOf(sourceEventId: string): string {
  return sourceEventId.length <= 200 ? sourceEventId : createHash('sha256').update(sourceEventId).digest('hex');
}

/**
 * Money for `custom_data.value`: the stored amount (the currency's minor units, as providers send it)
 * as a decimal amount of the currency — ¥5,000 sent by Stripe as `5000 jpy` is 5000, not 50.
 */
export function centsToValue(cents: number, currency: string): number {
  return minorUnitsToAmount(cents, currency);
}

/** The Meta event names one funnel event stands for: Lead (first event) and/or its mapped name. */
export function eventNamesFor(
  src: Pick<CapiSource, 'eventType' | 'isFirst' | 'recorded'>,
  target: Pick<CapiTarget, 'lead' | 'events'>,
): string[] {
  const names: string[] = [];
  if (target.lead && src.isFirst) names.push(leadEventName);
  const mapped = target.events[src.eventType];
  if (mapped && !names.includes(mapped)) names.push(mapped);
  return src.recorded?.length ? names.filter((n) => !src.recorded?.includes(n)) : names;
}

/**
 * Plans the sends of one funnel event (pure): one row per Meta event name, with the server event
 * exactly as it will be posted — user data SHA-256 hashed, never plaintext. Events past Meta's window
 * and Purchases without a payment value are `skipped` with a reason instead of sinking a batch.
 */
export function planSends(src: CapiSource, target: Pick<CapiTarget, 'lead' | 'events'>, now: Date): PlannedSend[] {
  const names = eventNamesFor(src, target);
  if (names.length === 0) return [];
  const eventId = eventIdOf(src.sourceEventId);
  const base = {
    funnelEventId: src.funnelEventId,
    contactId: src.contactId,
    webhookLogId: src.webhookLogId,
    eventId,
    eventTime: src.occurredAt,
  };
  if (now.getTime() - src.occurredAt.getTime() > maxEventAgeMs) {
    return names.map((eventName) => ({
      ...base,
      eventName,
      status: 'skipped' as const,
      reason: 'older than 7 days: Meta refuses events past its window',
      payload: null,
    }));
  }
  const userData = hashUserData({
    emails: src.emails,
    phones: src.phones,
    firstName: src.firstName,
    lastName: src.lastName,
    externalId: src.contactId,
  });
  const actionSource = actionSourceOf(src.source, src.data);
  const hasValue = src.valueCents !== null && src.valueCents > 0 && typeof src.currency === 'string' && /^[a-z]{3}$/i.test(src.currency);
  // Meta refuses times in the future; a provider clock a little ahead must not sink a batch.
  const eventTime = Math.floor(Math.min(src.occurredAt.getTime(), now.getTime()) / 1000);
  return names.map((eventName): PlannedSend => {
    if (eventName === 'Purchase' && !hasValue)
      return { ...base, eventName, status: 'skipped', reason: 'Purchase without a payment value', payload: null };
    const custom: Record<string, string | number> = {};
    if (hasValue && eventName !== leadEventName) {
      custom.value = centsToValue(src.valueCents as number, src.currency as string);
      custom.currency = (src.currency as string).toUpperCase();
    }
    // ad_id is not a Meta matching key; as custom data it stays visible per event in Events Manager.
    // Custom data is never hashed: only a Meta ad id (digits) goes, never free text a form visitor typed
    // (an email, a phone) stored as the contact's ad id before the normalizers checked it (red team, stop 37).
    if (src.adId && isMetaAdId(src.adId)) custom.ad_id = src.adId;
    if (src.adsetId) custom.adset_id = src.adsetId;
    if (src.campaignId) custom.campaign_id = src.campaignId;
    custom.funnel_event = src.eventType;
    const payload: ServerEvent = {
      event_name: eventName,
      event_time: eventTime,
      event_id: eventId,
      action_source: actionSource,
      user_data:
        actionSource === 'website'
          ? {
              ...userData,
              client_user_agent: src.data.client_user_agent as string,
              ...(typeof src.data.client_ip_address === 'string' ? { client_ip_address: src.data.client_ip_address } : {}),
            }
          : userData,
      custom_data: custom,
      ...(actionSource === 'website' ? { event_source_url: src.data.event_source_url as string } : {}),
    };
    return { ...base, eventName, status: 'pending', reason: null, payload };
  });
}
