import { type JsonRecord, pickKey, readKey } from '../payload';

/** A workflow action's `customData.event_type`, else the native webhook's `type` (e.g. `ContactCreate`). */
export function ghlEventType(event: JsonRecord): string | undefined {
  return pickKey([event.customData, event], ['event_type']) ?? readKey(event.type);
}

/** A native webhook's `webhookId` as `webhook:<id>`; workflow actions carry none (body hash). */
export function ghlDedupeKey(event: JsonRecord): string | undefined {
  const id = readKey(event.webhookId);
  return id ? `webhook:${id}` : undefined;
}
