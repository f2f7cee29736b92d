import { z } from 'zod';
import { objectField, recordField, textField, timeField } from '../payload';

/** Workflow `customData` (the key/values an operator adds to a GHL workflow "Webhook" action). */
export const ghlCustomDataSchema = z.object({
  event_type: textField,
  pipeline_stage: textField,
  MC_ID: textField,
  mc_id: textField,
  AD_ID: textField,
  ad_id: textField,
  source: textField,
  email: textField,
  phone: textField,
  tags: z.unknown().optional(),
});

/** Marketplace `Appointment*` events nest the appointment. */
export const ghlAppointmentSchema = z.object({
  id: textField,
  contactId: textField,
  appointmentStatus: textField,
  startTime: timeField,
  dateAdded: timeField,
});

/**
 * One GHL body, both shapes read leniently:
 * - workflow action: `{contact_id, first_name, last_name, email, phone, tags, contact_source,
 *   pipleline_stage (sic) | pipeline_stage, pipeline_name, customData:{…}, …}`;
 * - marketplace event: `{type, locationId, webhookId?, timestamp?, id | contactId, firstName, lastName,
 *   email, phone, source, dateAdded, pipelineStageId, appointment:{…}, …}`.
 */
export const ghlBodySchema = z.object({
  type: textField,
  webhookId: textField,
  timestamp: timeField,
  id: textField,
  contact_id: textField,
  contactId: textField,
  first_name: textField,
  firstName: textField,
  last_name: textField,
  lastName: textField,
  email: textField,
  phone: textField,
  contact_source: textField,
  source: textField,
  tags: z.unknown().optional(),
  MC_ID: textField,
  AD_ID: textField,
  pipleline_stage: textField,
  pipeline_stage: textField,
  pipelineStageName: textField,
  stageName: textField,
  pipelineStageId: textField,
  pipeline_name: textField,
  status: textField,
  dateAdded: timeField,
  customData: objectField(ghlCustomDataSchema),
  appointment: objectField(ghlAppointmentSchema),
  calendar: recordField,
});
export type GhlBody = z.output<typeof ghlBodySchema>;
