import { type FunnelEventType, type Stage, stages } from './domain';

/**
 * The stage a funnel event puts a contact in (SPEC §4), or `null` when the event says nothing about
 * the stage (cancellations, abandoned checkouts, refunds). Stages only move forward: combine with
 * `laterStage`.
 */
export const stageByEvent: Record<FunnelEventType, Stage | null> = {
  contact_subscribed: 'new_lead',
  contact_updated: 'new_lead',
  dm_qualified: 'dm_qualified',
  link_sent: 'landing_link_sent',
  link_clicked: 'landing_link_clicked',
  form_submitted: 'form_submitted',
  appointment_scheduled: 'meeting_booked',
  appointment_held: 'meeting_held',
  appointment_cancelled: null,
  package_sent: 'package_sent',
  checkout_started: null,
  checkout_abandoned: null,
  deposit_paid: 'deposit_paid',
  purchase_completed: 'purchased',
  payment_plan_created: 'purchased',
  recurring_payment_received: 'purchased',
  payment_refunded: null,
};

/** See `stageByEvent`. */
export function stageForEvent(type: FunnelEventType): Stage | null {
  return stageByEvent[type];
}

/** Position of a stage in the funnel (0 = `new_lead`); -1 for null or an unknown value. */
export function stageRank(stage: string | null | undefined): number {
  return stage ? (stages as readonly string[]).indexOf(stage) : -1;
}

/** The further of two stages (forward-only rule); `null` only when neither is a known stage. */
export function laterStage(current: string | null | undefined, next: string | null | undefined): Stage | null {
  const a = stageRank(current);
  const b = stageRank(next);
  const best = Math.max(a, b);
  return best < 0 ? null : (stages[best] ?? null);
}
