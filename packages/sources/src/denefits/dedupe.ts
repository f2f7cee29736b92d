import { isRecord, type JsonRecord, pickKey } from '../payload';
import { denefitsPaymentNumber } from './normalize';

/** The fields a Denefits delivery is known by, wherever the relay put them (top level, `data`, `contract`, `payment`). */
function partsOf(event: JsonRecord) {
  const data = isRecord(event.data) ? event.data : undefined;
  const contract = isRecord(event.contract) ? event.contract : data?.contract;
  const payment = isRecord(event.payment) ? event.payment : data?.payment;
  const scopes = [event, data, contract, payment];
  return {
    type: pickKey([event, data], ['webhook_type', 'type', 'event', 'event_type']),
    code: pickKey(scopes, ['contract_code', 'contractCode', 'code']),
    paymentNumber: pickKey(scopes, ['payment_number', 'paymentNumber', 'installment_number', 'payment_no']),
    status: pickKey([event, data, contract], ['status', 'contract_status']),
    remaining: pickKey([contract, event, data], ['remaining_payments']),
  };
}

/** The webhook type (`webhook_type`, e.g. `contract.payments.recurring_payment`). */
export function denefitsEventType(event: JsonRecord): string | undefined {
  return partsOf(event).type;
}

/** Contract code + webhook type + payment number (or the new status of a `contract.status`). */
export function denefitsDedupeKey(event: JsonRecord): string | undefined {
  const p = partsOf(event);
  if (!p.code || !p.type) return undefined;
  const key = `${p.code}:${p.type}`;
  // Make.com relays carry no payment number: the instalment is derived from the contract's
  // number_of_payments − remaining_payments, else remaining_payments alone, exactly as the normalizer
  // keys the payment.
  const recurring = p.type.includes('recurring');
  const paymentNumber = p.paymentNumber ?? (recurring ? denefitsPaymentNumber(event) : undefined);
  if (paymentNumber !== undefined) return `${key}:${paymentNumber}`;
  if (recurring && p.remaining) return `${key}:r${p.remaining}`;
  // Each status change of a contract is its own event; without it a later change would be a "duplicate".
  // A contract comes back to a status it had (Active → Overdue → Active → Overdue): the instalments
  // left tell those apart, so the last change is not dropped as a repeat of the first.
  if (p.type.endsWith('status') && p.status) return p.remaining ? `${key}:${p.status}:r${p.remaining}` : `${key}:${p.status}`;
  // Once per contract. Any other type with nothing telling its deliveries apart (one MCB does not handle,
  // or a relay's typo) is known by its body: keyed by contract and type, every delivery after the first was
  // answered `duplicate` and lost, even once the type is handled and the stored ones replayed.
  return p.type === 'contract.created' ? key : undefined;
}
