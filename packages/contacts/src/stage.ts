import { type FunnelEventType, type Stage, stages } from '@mcb/sources';

const stageByEvent: Partial<Record<FunnelEventType, Stage>> = {
  contact_subscribed: 'new_lead',
  contact_updated: 'new_lead',
  dm_qualified: 'dm_qualified',
  link_sent: 'landing_link_sent',
  link_clicked: 'landing_link_clicked',
  form_submitted: 'form_submitted',
  appointment_scheduled: 'meeting_booked',
  appointment_held: 'meeting_held',
  package_sent: 'package_sent',
  deposit_paid: 'deposit_paid',
  purchase_completed: 'purchased',
  payment_plan_created: 'purchased',
  recurring_payment_received: 'purchased',
};

/** The stage a funnel event proves the person reached; null for events that prove none (cancel, refund, abandon). */
export function stageOfEvent(type: FunnelEventType): Stage | null {
  return stageByEvent[type] ?? null;
}

/** The further of two stages (stages only move forward); unknown strings rank lowest. */
export function furthestStage(a: string | null, b: string | null): string | null {
  const rank = (s: string | null) => (s === null ? -2 : stages.indexOf(s as Stage));
  return rank(b) > rank(a) ? b : a;
}
