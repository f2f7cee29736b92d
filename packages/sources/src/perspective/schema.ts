import { z } from 'zod';
import { isRecord, objectField, readText, recordField, textField, timeField } from '../payload';

/** Perspective profile attributes come wrapped: `{email:{value:"…"}}`; a bare value is accepted too. */
const wrappedText = z
  .unknown()
  .transform((value) => (isRecord(value) ? readText(value.value) : readText(value)))
  .optional();

/**
 * Perspective funnel conversion (SPEC §4): `{id, funnelName, funnelId, trigger?, profile:{email:{value},
 * firstName:{value}, lastName:{value}, phone:{value}}, values:{email, firstName, lastName, phone, ad_id},
 * meta:{convertedAt | ps_converted_at, ad_id, utm_content}, tags}`.
 */
export const perspectiveBodySchema = z.object({
  id: textField,
  trigger: textField,
  funnelName: textField,
  funnelId: textField,
  profile: objectField(z.object({ email: wrappedText, firstName: wrappedText, lastName: wrappedText, phone: wrappedText })),
  values: objectField(
    z.object({
      email: textField,
      firstName: textField,
      lastName: textField,
      phone: textField,
      ad_id: textField,
      AD_ID: textField,
      ps_converted_at: timeField,
    }),
  ),
  meta: objectField(z.object({ convertedAt: timeField, ps_converted_at: timeField, ad_id: textField, utm_content: textField })),
  tags: recordField,
});
export type PerspectiveBody = z.output<typeof perspectiveBodySchema>;
