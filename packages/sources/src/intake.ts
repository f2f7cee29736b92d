import { eventTypeOf } from './dedupe';
import type { Source } from './domain';
import { manyChatBodyProblem } from './manychat/normalize';
import { readText } from './payload';

/**
 * `webhook_logs.event_type` at intake: the body's event type (`eventTypeOf`), else — for ManyChat,
 * whose External Request may send the Full Contact Data object as the whole body — the URL's
 * `?event=` parameter. The worker passes the stored value back to the normalizer as a hint. Pure.
 */
export function intakeEventType(source: Source, event: unknown, urlEvent: string | undefined): string | null {
  const fromBody = eventTypeOf(source, event);
  if (fromBody || source !== 'manychat') return fromBody;
  return readText(urlEvent)?.slice(0, 100) ?? null;
}

/**
 * Why a verified, parsed body can never be processed, when that is already known at intake (the
 * receiver answers 400 `invalid_payload` with this reason and keeps the row as `rejected`), or null.
 * Only structural certainties: anything a normalizer might still accept is left to the worker. Pure.
 */
export function intakeProblem(source: Source, event: unknown): string | null {
  return source === 'manychat' ? manyChatBodyProblem(event) : null;
}
