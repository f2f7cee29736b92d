import { distinctEmails, normalizeEmail, readPhone } from '../identity';
import { isRecord, unwrapBody } from '../payload';
import { buildContact, emitEvents, guardNormalizer, ignore, type NormalizerConfig, reject, withNote, withoutUndefined } from '../result';
import type { NormalizedContact, NormalizedPayment, NormalizeResult } from '../types';
import { type DenefitsBody, type DenefitsContract, denefitsBodySchema, denefitsContractSchema } from './schema';

function readBody(payload: unknown): { body: DenefitsBody; contract: DenefitsContract } | undefined {
  const raw = unwrapBody(payload);
  if (!isRecord(raw)) return undefined;
  const body = denefitsBodySchema.parse(raw);
  // Make.com scenarios sometimes flatten the contract into the body.
  return { body, contract: body.data?.contract ?? denefitsContractSchema.parse(raw) };
}

function typeOf(body: DenefitsBody): string | undefined {
  return body.webhook_type ?? body.event_type ?? body.type;
}

/**
 * Which instalment a `contract.payments.recurring_payment` delivery is: the explicit payment number when
 * the body has one, else `number_of_payments − remaining_payments` (remaining counted after this
 * payment). `undefined` when neither is known. Shared with the receiver's dedupe key (SPEC §3).
 */
export function denefitsPaymentNumber(payload: unknown): number | undefined {
  const read = readBody(payload);
  return read ? paymentNumberOf(read.body, read.contract) : undefined;
}

function paymentNumberOf(body: DenefitsBody, contract: DenefitsContract): number | undefined {
  const explicit = body.data?.payment?.payment_number ?? body.payment_number ?? contract.payment_number;
  if (explicit !== undefined) return explicit;
  const total = contract.number_of_payments;
  const remaining = contract.remaining_payments;
  return total !== undefined && remaining !== undefined && total >= remaining ? total - remaining : undefined;
}

function customerOf(contract: DenefitsContract, config: NormalizerConfig) {
  const email = normalizeEmail(contract.customer_email);
  const { phone } = readPhone(config.phone_country, contract.customer_mobile);
  const name = [contract.customer_first_name, contract.customer_last_name].filter(Boolean).join(' ');
  return { email, phone, name: name || undefined };
}

function payerContact(contract: DenefitsContract, config: NormalizerConfig): NormalizedContact | undefined {
  const { email, phone } = customerOf(contract, config);
  return buildContact(
    { emails: distinctEmails(email), phone },
    { emailPayment: email, phone, firstName: contract.customer_first_name, lastName: contract.customer_last_name },
  );
}

function contractCreated(type: string, contract: DenefitsContract, code: string, config: NormalizerConfig): NormalizeResult {
  const financed = contract.financed_amount;
  if (financed === undefined) return reject(type, `contract ${code} has no readable financed_amount`);
  const customer = customerOf(contract, config);
  const common = {
    source: 'denefits' as const,
    paymentType: 'buy_now_pay_later' as const,
    currency: 'usd',
    customerEmail: customer.email,
    customerName: customer.name,
    customerPhone: customer.phone,
    paidAt: contract.date_added,
    denefitsContractCode: code,
  };
  const payments: NormalizedPayment[] = [
    withoutUndefined({
      ...common,
      paymentEventId: `${code}_plan`,
      category: 'payment_plan' as const,
      amountCents: financed,
      status: 'active',
      denefitsFinancedCents: financed,
      denefitsRecurringCents: contract.recurring_amount,
      denefitsNumPayments: contract.number_of_payments,
      denefitsRemainingPayments: contract.remaining_payments ?? contract.number_of_payments,
      funnelEvent: 'payment_plan_created' as const,
    }),
  ];
  const downpayment = contract.downpayment_amount;
  if (downpayment !== undefined && downpayment > 0) {
    payments.push(
      withoutUndefined({
        ...common,
        paymentEventId: `${code}_downpayment`,
        category: 'downpayment' as const,
        amountCents: downpayment,
        status: 'paid',
      }),
    );
  }
  return emitEvents(
    withoutUndefined({
      source: 'denefits' as const,
      eventType: type,
      occurredAt: contract.date_added,
      contact: payerContact(contract, config),
      payments,
    }),
  );
}

function recurringPayment(
  type: string,
  body: DenefitsBody,
  contract: DenefitsContract,
  code: string,
  config: NormalizerConfig,
): NormalizeResult {
  const paid = body.data?.payment;
  const amount = paid?.payment_amount ?? paid?.amount ?? contract.recurring_amount;
  if (amount === undefined || amount === 0) return reject(type, `recurring payment for contract ${code} has no amount`);
  const number = paymentNumberOf(body, contract);
  const remaining = contract.remaining_payments;
  let paymentEventId: string;
  if (number !== undefined) paymentEventId = `${code}_recurring_${number}`;
  else if (remaining !== undefined) paymentEventId = `${code}_recurring_r${remaining}`;
  else return reject(type, `recurring payment for contract ${code} has no payment number or remaining_payments`);
  const customer = customerOf(contract, config);
  const paidAt = paid?.payment_date ?? paid?.date;
  const payment: NormalizedPayment = withoutUndefined({
    paymentEventId,
    source: 'denefits' as const,
    paymentType: 'buy_now_pay_later' as const,
    category: 'recurring' as const,
    amountCents: amount,
    currency: 'usd',
    status: 'paid',
    customerEmail: customer.email,
    customerName: customer.name,
    customerPhone: customer.phone,
    paidAt,
    denefitsContractCode: code,
    denefitsRecurringCents: contract.recurring_amount ?? amount,
    denefitsNumPayments: contract.number_of_payments,
    denefitsRemainingPayments: remaining,
    // SPEC §4: a recurring payment is never a new purchase.
    funnelEvent: 'recurring_payment_received' as const,
  });
  return emitEvents(
    withoutUndefined({
      source: 'denefits' as const,
      eventType: type,
      occurredAt: paidAt,
      contact: payerContact(contract, config),
      payments: [payment],
    }),
  );
}

function statusChanged(type: string, body: DenefitsBody, contract: DenefitsContract, code: string): NormalizeResult {
  const status = body.status_change?.current_status ?? contract.contract_status;
  if (!status) return reject(type, `contract.status for ${code} carries no status`);
  return emitEvents({
    source: 'denefits',
    eventType: type,
    paymentStatusUpdates: [{ paymentEventId: `${code}_plan`, status: status.toLowerCase().replace(/\s+/g, '_') }],
  });
}

/**
 * Denefits delivery (relayed by Make.com) → result (SPEC §4): `contract.created` → `<code>_plan`
 * (+ `<code>_downpayment` when > 0); `contract.payments.recurring_payment` → one recurring payment per
 * instalment; `contract.status` → status of `<code>_plan`. Dollars become cents exactly. Pure, total.
 */
export const normalizeDenefits = guardNormalizer('denefits', (payload: unknown, config: NormalizerConfig): NormalizeResult => {
  const read = readBody(payload);
  if (!read) return reject(null, 'Denefits body is not a JSON object');
  const { body, contract } = read;
  const type = typeOf(body);
  if (!type) return reject(null, 'Denefits body has no webhook_type');
  const known = ['contract.created', 'contract.payments.recurring_payment', 'contract.status'];
  if (!known.includes(type)) return ignore(type, `unhandled Denefits webhook_type "${type}"`);
  const code = contract.contract_code;
  if (!code) return reject(type, 'Denefits contract has no contract_code');
  if (type === 'contract.status') return statusChanged(type, body, contract, code);
  // Both name the customer: what the log says when its phone was not kept.
  const phoneNote = readPhone(config.phone_country, contract.customer_mobile).note;
  if (type === 'contract.created') return withNote(contractCreated(type, contract, code, config), phoneNote);
  return withNote(recurringPayment(type, body, contract, code, config), phoneNote);
});
