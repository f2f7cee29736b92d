import { z } from 'zod';
import { isRecord, objectField, readText, textField, timeField } from '../payload';

/**
 * Custom fields keyed by lowercased name. Webhook bodies send an object (`{AD_ID: "…"}`); the API's
 * `/fb/subscriber/getInfo` sends an array of `{id, name, type, description, value}`.
 */
export type ManyChatCustomFields = Map<string, unknown>;

function readCustomFields(value: unknown): ManyChatCustomFields {
  const fields: ManyChatCustomFields = new Map();
  if (Array.isArray(value)) {
    for (const item of value) {
      const name = isRecord(item) ? readText(item.name) : undefined;
      if (name && isRecord(item)) fields.set(name.toLowerCase(), item.value);
    }
  } else if (isRecord(value)) {
    for (const [name, item] of Object.entries(value)) fields.set(name.toLowerCase(), item);
  }
  return fields;
}

/**
 * Fields only a ManyChat subscriber (Full Contact Data) has: a body with `id` and one of these is a
 * subscriber sent as the body itself. The others are what the API's getInfo also returns.
 */
export const manyChatSubscriberFields = [
  'id',
  'key',
  'page_id',
  'first_name',
  'last_name',
  'name',
  'email',
  'phone',
  'whatsapp_phone',
  'ig_username',
  'ig_id',
  'custom_fields',
  'subscribed',
  'live_chat_url',
] as const;

/** A ManyChat subscriber, as a flow's External Request sends it or as the API returns it. Lenient. */
export const manyChatSubscriberSchema = z.object({
  id: textField,
  first_name: textField,
  last_name: textField,
  email: textField,
  phone: textField,
  whatsapp_phone: textField,
  ig_username: textField,
  ig_id: textField,
  /** When the person subscribed (the API's W3C datetime). */
  subscribed: timeField,
  custom_fields: z.unknown().transform(readCustomFields).optional(),
});
export type ManyChatSubscriber = z.output<typeof manyChatSubscriberSchema>;

/** Webhook body: `{subscriber:{…}, event_type}` or only `{subscriber_id, event_type}` (SPEC §4). */
export const manyChatBodySchema = z.object({
  subscriber: objectField(manyChatSubscriberSchema),
  subscriber_id: textField,
  event_type: textField,
});
export type ManyChatBody = z.output<typeof manyChatBodySchema>;

/** `/fb/subscriber/getInfo` answer: `{status: "success", data: Subscriber}`. */
export const manyChatGetInfoSchema = z.object({
  status: textField,
  data: objectField(manyChatSubscriberSchema),
});
