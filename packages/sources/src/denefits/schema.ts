import { z } from 'zod';
import { countField, dollarsField, objectField, textField, timeField } from '../payload';

/**
 * Denefits contract, as Denefits' webhooks relayed by Make.com carry it under `data.contract`.
 * Amounts are dollars (numbers or text such as "1,234.56"), read as integer cents.
 * Field names are those of the deliveries the original MCB handled (`contract_code`, `financed_amount`,
 * `downpayment_amount`, `recurring_amount`, `number_of_payments`, `remaining_payments`, `date_added`,
 * `customer_*`); `payment_number`, `payment_amount` and `payment_date` are read when present (assumed
 * names, see fixtures/README.md).
 */
export const denefitsContractSchema = z.object({
  contract_id: textField,
  contract_code: textField,
  contract_status: textField,
  customer_email: textField,
  customer_first_name: textField,
  customer_last_name: textField,
  customer_mobile: textField,
  financed_amount: dollarsField,
  downpayment_amount: dollarsField,
  recurring_amount: dollarsField,
  number_of_payments: countField,
  remaining_payments: countField,
  payment_number: countField,
  date_added: timeField,
});

/** One recurring payment, when the delivery describes it (`data.payment`; assumed shape). */
export const denefitsPaymentSchema = z.object({
  payment_number: countField,
  payment_amount: dollarsField,
  amount: dollarsField,
  payment_date: timeField,
  date: timeField,
});

/** Body: `{webhook_type, data:{contract:{…}, payment?:{…}}, status_change?:{previous_status, current_status}, secret_key?}`. */
export const denefitsBodySchema = z.object({
  webhook_type: textField,
  event_type: textField,
  type: textField,
  payment_number: countField,
  data: objectField(
    z.object({
      contract: objectField(denefitsContractSchema),
      payment: objectField(denefitsPaymentSchema),
    }),
  ),
  status_change: objectField(z.object({ previous_status: textField, current_status: textField })),
});
export type DenefitsBody = z.output<typeof denefitsBodySchema>;
export type DenefitsContract = z.output<typeof denefitsContractSchema>;
