import { formatMoney } from '@mcb/core';
import type { WebhookLogDetail, WebhookLogSummary } from '@mcb/db';

/** Payment statuses that need no word beside the amount: the money moved as booked. */
const plainPaymentStatuses = new Set(['paid', 'succeeded']);

/** An instant as operators read it everywhere: `2026-12-07 10:15:00Z`. */
export function formatLogTime(d: Date): string {
  return new Date(d)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * A log's status as operators read it (`mcb log`, `mcb logs`, the console): `failed, will retry at
 * <time>` while a retry is pending (`retry_at`), so a failure that will run again reads apart from
 * one that gave up (plain `failed`); every other status as stored.
 */
export function describeLogStatus(log: Pick<WebhookLogSummary, 'status' | 'retryAt'>): string {
  return log.status === 'failed' && log.retryAt ? `failed, will retry at ${formatLogTime(log.retryAt)}` : log.status;
}

/**
 * What a log's `error_message` is, by its status: `error` for a failed or rejected log, `reason` for an
 * ignored one (why it changed nothing), `note` for a processed one (what a bounded read left out, e.g.
 * `charge.refunded lists 9990 refunds; … the first 100 were read`), so a processed log never shows an "error".
 */
export function logMessageLabel(status: string): 'error' | 'reason' | 'note' {
  if (status === 'ignored') return 'reason';
  if (status === 'processed') return 'note';
  return 'error';
}

/**
 * The contacts what a log booked belongs to now, other than the contact its processing matched: a payment
 * alone makes no contact (SPEC §6.3), so a Stripe log is processed with none and its orphan payment is
 * linked when the buyer shows up later. In `openLog`'s answer as `linkedContactIds`, so the JSON of
 * `mcb log` and the console's API say what the text says (it read `"contact": null` beside a payment
 * that had one: operator walk, stop 37).
 */
export function linkedContactIds(log: Pick<WebhookLogDetail, 'contact' | 'funnelEvents' | 'payments'>): string[] {
  const own = log.contact ? String(log.contact.id) : null;
  const ids = [...log.payments, ...log.funnelEvents].flatMap((r) => (r.contact_id == null ? [] : [String(r.contact_id)]));
  return [...new Set(ids)].filter((id) => id !== own);
}

/**
 * The contact a log is about (`mcb log`, the console's log page), or null for none: the contact its
 * processing matched, with `merged into <id>` once a merge folded it into another; else the contacts
 * its payments or funnel events belong to now (`linkedContactIds`) — it read `contact -` beside a
 * payment that had one.
 */
export function describeLogContact(log: Pick<WebhookLogDetail, 'contact' | 'funnelEvents' | 'payments'>): string | null {
  if (log.contact) {
    const merged = log.contact.merged_into_id;
    return merged == null ? String(log.contact.id) : `${String(log.contact.id)} (merged into ${String(merged)})`;
  }
  const later = linkedContactIds(log);
  if (later.length === 0) return null;
  return `${later.join(', ')} (linked after this log was processed: what it booked waited for its contact)`;
}

/**
 * One payment a log produced: `full_purchase £497.00`, with its status after the amount when it is
 * not plain paid or succeeded (`full_purchase £497.00 disputed`, `payment_plan $2,400.00 active`) —
 * a dispute or a failed charge changes the status of the sale's own row.
 */
export function describePayment(payment: Record<string, unknown>): string {
  const money = `${String(payment.category)} ${formatMoney(Number(payment.amount_cents), String(payment.currency))}`;
  const status = payment.status == null ? '' : String(payment.status);
  return status === '' || plainPaymentStatuses.has(status) ? money : `${money} ${status}`;
}

/**
 * What a log produced, one line each (`mcb log`, the console's log page): its funnel events, its
 * payments (with any status that is not plain paid), and — only when it made any — the payment status
 * changes it recorded (`pi:pi_123 → disputed`), which book no payment of their own.
 */
export function describeLogOutcome(log: Pick<WebhookLogDetail, 'funnelEvents' | 'payments' | 'paymentStatusChanges'>): string[] {
  const lines = [
    `${log.funnelEvents.length} funnel event(s): ${log.funnelEvents.map((e) => String(e.event_type)).join(', ') || '-'}`,
    `${log.payments.length} payment(s): ${log.payments.map(describePayment).join(', ') || '-'}`,
  ];
  if (log.paymentStatusChanges.length > 0) {
    const changes = log.paymentStatusChanges.map((c) => `${c.payment_ref} → ${c.status}`);
    lines.push(`${log.paymentStatusChanges.length} payment status change(s): ${changes.join(', ')}`);
  }
  return lines;
}
