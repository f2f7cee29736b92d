import type { FunnelEventType } from '../domain';
import { distinctEmails, normalizeEmail, readAdId, readPhone } from '../identity';
import { isRecord, readFlag, readText, unwrapBody } from '../payload';
import { buildContact, emitEvents, guardNormalizer, ignore, type NormalizeHints, type NormalizerConfig, reject, withNote } from '../result';
import type { NormalizeResult } from '../types';
import {
  type ManyChatSubscriber,
  manyChatBodySchema,
  manyChatGetInfoSchema,
  manyChatSubscriberFields,
  manyChatSubscriberSchema,
} from './schema';

/**
 * ManyChat `event_type` → funnel event type (SPEC §4). A Map, not an object: a provider string such as
 * `__proto__` or `constructor` must find nothing, not `Object.prototype`'s members.
 */
export const manyChatEventTypes: ReadonlyMap<string, FunnelEventType> = new Map<string, FunnelEventType>([
  ['contact_created', 'contact_subscribed'],
  ['contact_subscribed', 'contact_subscribed'],
  ['contact_update', 'contact_updated'],
  ['contact_updated', 'contact_updated'],
  ['dm_qualified', 'dm_qualified'],
  ['link_sent', 'link_sent'],
  ['link_clicked', 'link_clicked'],
]);

function customField(subscriber: ManyChatSubscriber, ...names: string[]): unknown {
  for (const name of names) {
    const value = subscriber.custom_fields?.get(name.toLowerCase());
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
}

/** SPEC §4: without `event_type`, the furthest flag the flow has set names the event. */
function inferEventType(subscriber: ManyChatSubscriber): string {
  if (readFlag(customField(subscriber, 'MCB_CLICKED_LINK'))) return 'link_clicked';
  if (readFlag(customField(subscriber, 'MCB_SENT_LINK'))) return 'link_sent';
  if (readFlag(customField(subscriber, 'MCB_LEAD_CONTACT'))) return 'dm_qualified';
  if (readFlag(customField(subscriber, 'MCB_LEAD'))) return 'contact_created';
  return 'contact_update';
}

function normalizeSubscriber(subscriber: ManyChatSubscriber, givenType: string | undefined, config: NormalizerConfig): NormalizeResult {
  const eventType = givenType ?? inferEventType(subscriber);
  const type = manyChatEventTypes.get(eventType.toLowerCase());
  if (!type) return ignore(eventType, `unknown ManyChat event_type "${eventType}"`);
  const mcId = subscriber.id;
  if (!mcId) return reject(eventType, 'ManyChat subscriber has no id');

  const email = normalizeEmail(subscriber.email) ?? normalizeEmail(customField(subscriber, 'MCB_SEARCH_EMAIL'));
  const { phone, note: phoneNote } = readPhone(config.phone_country, subscriber.phone, subscriber.whatsapp_phone);
  const chatbot = readText(customField(subscriber, 'chatbot_AB', 'Chatbot AB Test'));
  const { adId, note: adIdNote } = readAdId(customField(subscriber, 'AD_ID', 'ADID'));
  const contact = buildContact(
    { mcId, emails: distinctEmails(email), phone },
    {
      mcId,
      emailPrimary: email,
      phone,
      firstName: subscriber.first_name,
      lastName: subscriber.last_name,
      igUsername: subscriber.ig_username,
      igId: subscriber.ig_id,
      source: readText(customField(subscriber, 'source')) ?? 'instagram',
      adId,
      tags: chatbot ? { chatbot } : undefined,
    },
  );
  // The subscription time is the real time of a "subscribed" event; ManyChat sends no other event time.
  const occurredAt = type === 'contact_subscribed' ? subscriber.subscribed : undefined;
  return withNote(
    emitEvents({
      source: 'manychat',
      eventType,
      ...(occurredAt ? { occurredAt } : {}),
      contact,
      funnelEvent: { type, ...(occurredAt ? { occurredAt } : {}) },
    }),
    phoneNote,
    adIdNote,
  );
}

/** What a ManyChat body carries: the subscriber inline, only its id (to fetch), or neither (with why). */
type ManyChatBodyShape =
  | { kind: 'subscriber'; subscriber: ManyChatSubscriber; eventType: string | undefined }
  | { kind: 'subscriber_id'; subscriberId: string; eventType: string | undefined }
  | { kind: 'unusable'; eventType: string | undefined; reason: string };

const manyChatShapes =
  'send the contact as the body itself ("Add Full Contact Data"), ' +
  'wrapped as {"subscriber": {…}}, or {"subscriber_id": "…"}; the event type goes in "event_type" or the URL\'s ?event=';
/** The answer for a ManyChat body with no subscriber: what was expected, in an operator's words. */
export const manyChatNoSubscriberReason = `ManyChat body has no subscriber id: ${manyChatShapes}`;
/** The same for a body with an `id` and nothing else a contact has (a flat contact needs its fields too). */
export const manyChatIdOnlyReason = `ManyChat body has an id but no contact field (name, email, phone, custom_fields, …): ${manyChatShapes}`;

/**
 * Reads a ManyChat body (SPEC §4) in the three shapes a flow's External Request sends: wrapped
 * `{subscriber:{id,…}, event_type?}`, the Full Contact Data object as the body itself
 * (`{id, key, page_id, first_name, …, custom_fields, event_type?}`), or `{subscriber_id, event_type?}`.
 */
function readManyChatBody(payload: unknown): ManyChatBodyShape {
  const body = unwrapBody(payload);
  if (!isRecord(body)) return { kind: 'unusable', eventType: undefined, reason: 'ManyChat body is not a JSON object' };
  const parsed = manyChatBodySchema.parse(body);
  const eventType = parsed.event_type;
  if (parsed.subscriber?.id) return { kind: 'subscriber', subscriber: parsed.subscriber, eventType };
  if (parsed.subscriber_id) return { kind: 'subscriber_id', subscriberId: parsed.subscriber_id, eventType };
  // Flat Full Contact Data: an id plus at least one field only a subscriber object has.
  if (!isRecord(body.subscriber) && manyChatSubscriberFields.some((field) => field !== 'id' && field in body)) {
    const subscriber = manyChatSubscriberSchema.parse(body);
    if (subscriber.id) return { kind: 'subscriber', subscriber, eventType };
  }
  const idOnly = !isRecord(body.subscriber) && (typeof body.id === 'string' || typeof body.id === 'number');
  return { kind: 'unusable', eventType, reason: idOnly ? manyChatIdOnlyReason : manyChatNoSubscriberReason };
}

/**
 * Why a ManyChat body can never be processed, known at intake (no subscriber in any accepted
 * shape), or null. The receiver answers such a delivery 400 with this reason. Pure, total.
 */
export function manyChatBodyProblem(payload: unknown): string | null {
  try {
    const shape = readManyChatBody(payload);
    return shape.kind === 'unusable' ? shape.reason : null;
  } catch {
    return null; // the worker's guarded normalizer has the last word
  }
}

/**
 * ManyChat webhook body → result (SPEC §4). A subscriber inline (wrapped, or the Full Contact Data
 * object as the body) is normalized directly; `{subscriber_id}` alone gives `needs_fetch`: the
 * worker fetches the subscriber with the tenant's `api_key` and calls `normalizeManyChatSubscriber`.
 * The event type is the body's `event_type`, else `hints.eventType` (the URL's `?event=`, kept on
 * the log), else inferred from the MCB_* flags. Pure, total.
 */
export const normalizeManyChat = guardNormalizer('manychat', (payload: unknown, config: NormalizerConfig, hints?: NormalizeHints) => {
  const shape = readManyChatBody(payload);
  const eventType = shape.eventType ?? readText(hints?.eventType);
  if (shape.kind === 'unusable') return reject(eventType, shape.reason);
  if (shape.kind === 'subscriber') return normalizeSubscriber(shape.subscriber, eventType, config);
  if (eventType && !manyChatEventTypes.get(eventType.toLowerCase())) {
    return ignore(eventType, `unknown ManyChat event_type "${eventType}"`);
  }
  return { kind: 'needs_fetch', eventType: eventType ?? null, subscriberId: shape.subscriberId };
});

/**
 * Normalizes a subscriber fetched from ManyChat's `GET /fb/subscriber/getInfo?subscriber_id=…` (the whole
 * `{status, data}` answer or just `data`) for a body that carried only `subscriber_id`. `eventType` is
 * the body's `event_type` (null → inferred from the MCB_* flags). Pure, total.
 */
export function normalizeManyChatSubscriber(response: unknown, eventType: string | null, config: NormalizerConfig): NormalizeResult {
  return guardNormalizer('manychat', (value: unknown, guarded: NormalizerConfig) => {
    if (!isRecord(value)) return reject(eventType, 'ManyChat subscriber is not a JSON object');
    const wrapped = manyChatGetInfoSchema.parse(value);
    const subscriber = isRecord(value.data) ? wrapped.data : manyChatSubscriberSchema.parse(value);
    if (!subscriber?.id) return reject(eventType, 'ManyChat subscriber has no id');
    return normalizeSubscriber(subscriber, eventType ?? undefined, guarded);
  })(response, config);
}
