import { type JsonRecord, readKey } from '../payload';

/** Stripe's event type (`type`, e.g. `checkout.session.completed`). */
export function stripeEventType(event: JsonRecord): string | undefined {
  return readKey(event.type);
}

/** Stripe's own event id (`evt_…`): every redelivery of one event carries it. */
export function stripeDedupeKey(event: JsonRecord): string | undefined {
  return readKey(event.id);
}
