import { type JsonRecord, readKey } from '../payload';

/** The `event_type` our External Request template sends (the receiver falls back to `?event=`, intake.ts). */
export function manyChatEventType(event: JsonRecord): string | undefined {
  return readKey(event.event_type);
}

/** ManyChat sends no event id: a delivery is known by the SHA-256 of its raw body (`bodyHashKey`). */
export function manyChatDedupeKey(_event: JsonRecord): string | undefined {
  return undefined;
}
