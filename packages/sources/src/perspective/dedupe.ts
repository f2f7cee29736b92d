import { type JsonRecord, pickKey, readKey } from '../payload';

/** Perspective's trigger (`trigger`, else `event`, `type`, `event_type`). */
export function perspectiveEventType(event: JsonRecord): string | undefined {
  return pickKey([event], ['trigger', 'event', 'type', 'event_type']);
}

/** The funnel-visit `id`, with the trigger when there is one (one visit fires several triggers). */
export function perspectiveDedupeKey(event: JsonRecord): string | undefined {
  const id = readKey(event.id);
  if (!id) return undefined;
  const trigger = perspectiveEventType(event);
  return trigger ? `${id}:${trigger}` : id;
}
