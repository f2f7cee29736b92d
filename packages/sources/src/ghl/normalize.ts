import type { FunnelEventType } from '../domain';
import { funnelEventTypes } from '../domain';
import { distinctEmails, normalizeEmail, readAdId, readPhone } from '../identity';
import { isRecord, unwrapBody } from '../payload';
import {
  boundedTagList,
  boundedTags,
  buildContact,
  emitEvents,
  guardNormalizer,
  ignore,
  type NormalizerConfig,
  reject,
  withNote,
  withoutUndefined,
} from '../result';
import type { NormalizeResult } from '../types';
import { type GhlBody, ghlBodySchema } from './schema';

/** `customData.event_type` spellings used in GHL workflows (SPEC §4); any funnel event type also works by name. */
const eventTypeAliases: ReadonlyMap<string, FunnelEventType> = new Map<string, FunnelEventType>([
  ['form_filled', 'form_submitted'],
  ['meeting_booked', 'appointment_scheduled'],
  ['meeting_attended', 'appointment_held'],
]);

/** Default stage map (SPEC §4); the tenant's `ghl.stage_map` is merged over it. "ignored" = no event. */
export const defaultGhlStageMap: Readonly<Record<string, string>> = {
  'DC BOOKED': 'appointment_scheduled',
  'Completed DC': 'appointment_held',
  'NO SHOW': 'ignored',
};

const ignoredStageValues = new Set(['ignored', 'ignore', 'skip', 'none', '']);

function funnelTypeByName(name: string): FunnelEventType | undefined {
  const key = name.trim().toLowerCase();
  return eventTypeAliases.get(key) ?? funnelEventTypes.find((type) => type === key);
}

function stageKey(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}

type Resolution = { type: FunnelEventType } | { ignored: string } | { unmapped: string };

/**
 * Stage name (or stage id, for marketplace events that carry only `pipelineStageId`) → funnel event:
 * exact match in the merged map (case- and spacing-insensitive), then "package" → package_sent and a
 * word "form" → form_submitted.
 */
export function resolveGhlStage(candidates: Array<string | undefined>, config: NormalizerConfig): Resolution {
  const map = new Map<string, string>();
  const tenantMap = isRecord(config.ghl?.stage_map) ? config.ghl.stage_map : {};
  for (const [name, value] of [...Object.entries(defaultGhlStageMap), ...Object.entries(tenantMap)]) {
    if (typeof value === 'string') map.set(stageKey(name), value);
  }
  const names = candidates.filter((name): name is string => Boolean(name));
  for (const name of names) {
    const value = map.get(stageKey(name));
    if (value === undefined) continue;
    if (ignoredStageValues.has(value.trim().toLowerCase())) return { ignored: `GHL stage "${name}" is ignored by the stage map` };
    const type = funnelTypeByName(value);
    if (type) return { type };
    return { ignored: `stage map value "${value}" for "${name}" is not a funnel event type` };
  }
  const [name] = names;
  if (name && /package/i.test(name)) return { type: 'package_sent' };
  if (name && /(^|[^a-z])forms?([^a-z]|$)/i.test(name)) return { type: 'form_submitted' };
  return { unmapped: name ? `GHL stage "${name}" is not in the stage map` : 'no GHL stage' };
}

function resolveAppointment(status: string | undefined): Resolution {
  switch ((status ?? 'confirmed').toLowerCase()) {
    case 'showed':
      return { type: 'appointment_held' };
    case 'cancelled':
    case 'canceled':
      return { type: 'appointment_cancelled' };
    case 'noshow':
    case 'no_show':
    case 'no show':
      return { ignored: 'GHL appointment marked no-show' };
    case 'invalid':
      return { ignored: 'GHL appointment marked invalid' };
    default:
      return { type: 'appointment_scheduled' };
  }
}

/** SPEC §4 order: `customData.event_type`, else the marketplace `type`, else the stage through the stage map. */
function resolveEventType(body: GhlBody, config: NormalizerConfig): Resolution {
  const custom = body.customData?.event_type;
  if (custom) {
    const type = funnelTypeByName(custom);
    return type ? { type } : { ignored: `unknown GHL customData.event_type "${custom}"` };
  }
  const stageNames = [body.customData?.pipeline_stage, body.pipleline_stage, body.pipeline_stage, body.pipelineStageName, body.stageName];
  switch (body.type) {
    case undefined: {
      const resolution = resolveGhlStage(stageNames, config);
      // A workflow body always describes the contact; with no mapped stage it is a plain update.
      return 'unmapped' in resolution ? { type: 'contact_updated' } : resolution;
    }
    case 'ContactCreate':
      return { type: 'contact_subscribed' };
    case 'ContactUpdate':
    case 'ContactTagUpdate':
    case 'ContactDndUpdate':
      return { type: 'contact_updated' };
    case 'AppointmentCreate':
    case 'AppointmentUpdate':
      return resolveAppointment(body.appointment?.appointmentStatus);
    case 'AppointmentDelete':
      return { type: 'appointment_cancelled' };
    case 'OpportunityCreate':
    case 'OpportunityStageUpdate':
    case 'OpportunityUpdate': {
      const resolution = resolveGhlStage([...stageNames, body.pipelineStageId], config);
      return 'unmapped' in resolution ? { ignored: resolution.unmapped } : resolution;
    }
    default:
      return { ignored: `unhandled GHL event type "${body.type}"` };
  }
}

function readTags(value: unknown): Record<string, unknown> | undefined {
  if (isRecord(value)) {
    const tags = boundedTags(value);
    return Object.keys(tags).length > 0 ? tags : undefined;
  }
  const list = boundedTagList(value);
  return list.length > 0 ? { ghl_tags: list } : undefined;
}

function contactIdOf(body: GhlBody): string | undefined {
  if (body.contact_id) return body.contact_id;
  if (body.appointment?.contactId) return body.appointment.contactId;
  if (body.contactId) return body.contactId;
  // Marketplace Contact* events describe the contact itself; elsewhere `id` is an opportunity or note.
  return body.type?.startsWith('Contact') ? body.id : undefined;
}

function occurredAtOf(body: GhlBody): string | undefined {
  if (body.timestamp) return body.timestamp;
  if (body.type === 'ContactCreate') return body.dateAdded;
  if (body.type === 'AppointmentCreate') return body.appointment?.dateAdded;
  return undefined;
}

/**
 * GHL workflow-action body or marketplace event → result (SPEC §4). Identity `ghl_id` plus the ManyChat
 * `MC_ID` (which links the two records); the email goes to `email_booking`. Pure, total.
 */
export const normalizeGhl = guardNormalizer('ghl', (payload: unknown, config: NormalizerConfig): NormalizeResult => {
  const raw = unwrapBody(payload);
  if (!isRecord(raw)) return reject(null, 'GHL body is not a JSON object');
  const body = ghlBodySchema.parse(raw);
  const custom = body.customData;
  const stage = custom?.pipeline_stage ?? body.pipleline_stage ?? body.pipeline_stage ?? body.pipelineStageName ?? body.stageName;
  // A workflow body without an event type is read by its stage: its log says which (`stage:DC BOOKED`),
  // not a bare `workflow` on every one (operator walk, stop 37).
  const eventType = custom?.event_type ?? body.type ?? (stage ? `stage:${stage.slice(0, 100)}` : 'workflow');
  const resolution = resolveEventType(body, config);
  if ('ignored' in resolution) return ignore(eventType, resolution.ignored);
  if ('unmapped' in resolution) return ignore(eventType, resolution.unmapped);

  const ghlId = contactIdOf(body);
  const mcId = custom?.MC_ID ?? custom?.mc_id ?? body.MC_ID;
  // SPEC §4: the top-level email wins over customData.email.
  const email = normalizeEmail(body.email) ?? normalizeEmail(custom?.email);
  const { phone, note: phoneNote } = readPhone(config.phone_country, body.phone, custom?.phone);
  const { adId, note: adIdNote } = readAdId(custom?.AD_ID, custom?.ad_id, body.AD_ID);
  const isContactEvent = body.type === undefined || body.type.startsWith('Contact');
  const contact = buildContact(
    { ghlId, mcId, emails: distinctEmails(email), phone },
    {
      ghlId,
      mcId,
      emailBooking: email,
      phone,
      firstName: body.first_name ?? body.firstName,
      lastName: body.last_name ?? body.lastName,
      adId,
      source: custom?.source ?? (isContactEvent ? (body.contact_source ?? body.source) : undefined),
      tags: readTags(custom?.tags) ?? readTags(body.tags),
    },
  );
  if (!contact) return reject(eventType, `GHL body carries no contact id, MC_ID, email or phone${phoneNote ? ` (${phoneNote})` : ''}`);

  const occurredAt = occurredAtOf(body);
  const data = withoutUndefined({
    stage,
    pipeline: body.pipeline_name,
    pipeline_stage_id: body.pipelineStageId,
    appointment_id: body.appointment?.id,
    appointment_start: body.appointment?.startTime,
  });
  return withNote(
    emitEvents({
      source: 'ghl',
      eventType,
      ...(occurredAt ? { occurredAt } : {}),
      contact,
      funnelEvent: {
        type: resolution.type,
        ...(occurredAt ? { occurredAt } : {}),
        ...(Object.keys(data).length > 0 ? { data } : {}),
      },
    }),
    phoneNote,
    adIdNote,
  );
});

/** Whether `value` means something as a `ghl.stage_map` value: a funnel event type (or alias) or an "ignored" word. */
export function isGhlStageMapValue(value: string): boolean {
  return ignoredStageValues.has(value.trim().toLowerCase()) || funnelTypeByName(value) !== undefined;
}
