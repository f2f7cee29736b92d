import { InvalidConfig, isCurrencyCode } from '@mcb/core';
import { defaultDepositAmountCents, funnelEventTypes, isGhlStageMapValue, isPhoneCountry } from '@mcb/sources';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';

const isIanaZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/**
 * The canonical IANA name of a time zone as written by an operator (`europe/london` → `Europe/London`,
 * `US/Eastern` → `America/New_York`): zone names are matched case-insensitively, and what is stored is
 * shown (the report's footer, `mcb tenant show`). A name that is not a zone is returned as it is (the
 * schema refuses it).
 */
export function canonicalTimeZone(tz: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return tz;
  }
}

/**
 * Why a zone written as an abbreviation is refused on write, or null for a region's zone (`Area/City`),
 * `UTC` or `GMT`. `EST` is accepted by ICU as America/Panama — UTC−5 all year — and an operator who
 * typed it for a New York client got report weeks an hour off for most of the year; `MST` is Phoenix
 * (no daylight saving), `CET` Brussels. The region is named instead, so what is meant is what is stored.
 */
export function zoneAbbreviationProblem(tz: string): string | null {
  if (tz.includes('/') || /^(utc|gmt)$/i.test(tz) || !isIanaZone(tz)) return null;
  const read = canonicalTimeZone(tz);
  const offset = new Intl.DateTimeFormat('en-US', { timeZone: read, timeZoneName: 'longOffset' })
    .formatToParts(new Date(Date.UTC(2026, 0, 15)))
    .find((p) => p.type === 'timeZoneName')?.value;
  return `"${tz}" is an abbreviation, not a region's zone (it would be read as ${read}${offset ? `, ${offset} in January` : ''}): name the region, e.g. America/New_York for US Eastern with daylight saving`;
}

/**
 * Why `expression` is not a usable report schedule, or null when it is: five cron fields (minute
 * hour day-of-month month day-of-week, read in the tenant's zone) or an alias such as `@weekly`,
 * that fires at least once (cron-parser, the library BullMQ schedules with, has the last word).
 */
export function cronProblem(expression: string): string | null {
  const text = expression.trim();
  const fields = text.split(/\s+/);
  if (!text.startsWith('@') && fields.length !== 5) {
    return `"${expression}" is not a cron expression: use 5 fields (minute hour day-of-month month day-of-week), e.g. "0 8 * * 1" for Monday 08:00`;
  }
  try {
    CronExpressionParser.parse(text, { tz: 'UTC' }).next();
    return null;
  } catch (err) {
    return `"${expression}" is not a valid cron expression (${(err as Error).message}); e.g. "0 8 * * 1" for Monday 08:00`;
  }
}

const stageMapValues = [...funnelEventTypes, 'ignored'].join(', ');

/** Default `currency` (a tenant's reporting currency, ISO 4217, stored lowercase). */
export const defaultCurrency = 'usd';
const currencyRule = 'must be an ISO 4217 currency code, e.g. usd, eur, gbp or jpy';
const phoneCountryRule = 'must be an ISO 3166-1 alpha-2 country code, e.g. GB (the United Kingdom), US, DE or JP';

/** Default `report.schedule`: Monday 08:00 in the tenant's zone. */
export const defaultReportSchedule = '0 8 * * 1';

/**
 * `tenants.config` (SPEC §5). `strict` is the write path (`tenant add/update`): every field is
 * checked, unknown fields are refused (a typo would otherwise silently keep the default). The read
 * path is lenient (`strict` false) so a config stored before a rule existed never stops a worker.
 */
function configSchema(strict: boolean) {
  const object = <T extends z.ZodRawShape>(shape: T) => (strict ? z.strictObject(shape) : z.object(shape).passthrough());
  const schedule = strict
    ? z.string().superRefine((value, ctx) => {
        const problem = cronProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
    : z.string().min(9);
  const stageMapValue = strict ? z.string().refine(isGhlStageMapValue, `must be a funnel event type (${stageMapValues})`) : z.string();
  return object({
    // Read canonical too: a zone stored as typed before it was canonicalised on write.
    timezone: z
      .string()
      .refine(isIanaZone, 'must be an IANA time zone, e.g. America/New_York')
      .superRefine((tz, ctx) => {
        const problem = strict ? zoneAbbreviationProblem(tz) : null;
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .transform(canonicalTimeZone)
      .default('UTC'),
    // The report's currency: its money figures are minor units of it, and only payments in it are summed.
    currency: (strict ? z.string().refine(isCurrencyCode, currencyRule) : z.string())
      .transform((code) => code.toLowerCase())
      .default(defaultCurrency),
    // The country a phone written in national form is in (GB: 07700 900456 → +447700900456), stored upper
    // case; null (the default) reads only 10-digit North American numbers without a country code (SPEC §6.1).
    phone_country: (strict ? z.string().refine(isPhoneCountry, phoneCountryRule) : z.string())
      .transform((code) => code.toUpperCase())
      .nullable()
      .default(null),
    report: object({
      schedule: schedule.default(defaultReportSchedule),
      recipients: z.array(z.email()).default([]),
    }).prefault({}),
    deposit_amount_cents: z.number().int().positive().default(defaultDepositAmountCents),
    ghl: object({
      stage_map: z.record(z.string(), stageMapValue).default({}),
      location_ids: z.array(z.string().min(1)).default([]),
    }).prefault({}),
    perspective: object({ ignore_funnels: z.array(z.string()).default([]) }).prefault({}),
    meta: object({
      sync_every: z
        .string()
        .regex(/^[1-9]\d*(m|h|d)$/, 'must look like 30m, 6h or 1d')
        .default('6h'),
      lookback_days: z.number().int().min(1).max(90).default(28),
    }).prefault({}),
  });
}

/** `tenants.config` as read (lenient, defaults applied). */
export const tenantConfigSchema = configSchema(false);
/** `tenants.config` as written: every field checked, unknown fields refused. */
export const tenantConfigWriteSchema = configSchema(true);

export type TenantConfig = z.infer<typeof tenantConfigSchema>;

const kindOf = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'a list'
      : typeof value === 'object'
        ? 'an object'
        : typeof value === 'string'
          ? `"${value.length > 40 ? `${value.slice(0, 39)}…` : value}"`
          : String(value);

const expectedKinds: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  record: 'an object',
};

/**
 * The rule a config value broke, in the words of the other refusals (`must be …`), for the checks that
 * have no message of their own (a value of the wrong kind, out of range, not an email): zod's wording
 * ("Invalid input: expected string, received null") is not for operators. Undefined for the rest, which
 * carry the schema's own message (a currency, a time zone, a cron).
 */
function configIssueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = expectedKinds[issue.expected] ?? issue.expected;
      return issue.input === null
        ? `must be ${expected}, not null (leave it out to keep the current or default value)`
        : `must be ${expected}, not ${kindOf(issue.input)}`;
    }
    case 'too_small':
      if (issue.origin === 'string')
        return Number(issue.minimum) === 1 ? 'must not be empty' : `must have at least ${issue.minimum} characters`;
      if (issue.origin === 'array') return `must have at least ${issue.minimum} entries`;
      return issue.inclusive ? `must be at least ${issue.minimum}` : `must be more than ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must have at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} entries`;
      return issue.inclusive ? `must be at most ${issue.maximum}` : `must be less than ${issue.maximum}`;
    case 'invalid_format':
      return issue.format === 'email' ? `must be an email address, not ${kindOf(issue.input)}` : undefined;
    default:
      return undefined;
  }
}

function oneLine(error: z.ZodError): string {
  const issue = error.issues[0];
  const field = issue?.path.join('.') || 'config';
  if (issue?.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${issue.path.join('.')}.` : '';
    return `Invalid tenant config: unknown field ${issue.keys.map((k) => `${where}${k}`).join(', ')}`;
  }
  return `Invalid tenant config: ${field}: ${issue?.message ?? 'invalid'}`;
}

/** Validates and fills defaults (read path). Throws `InvalidConfig` naming the first bad field. */
export function parseTenantConfig(input: unknown): TenantConfig {
  const result = tenantConfigSchema.safeParse(input ?? {}, { error: configIssueMessage });
  if (result.success) return result.data;
  throw new InvalidConfig(oneLine(result.error));
}

/**
 * Checks a config before it is stored (`tenant add/update`, SPEC §5): a report cron that does not
 * parse, a value of the wrong kind or an unknown field is refused with one line naming the field.
 */
export function validateTenantConfig(input: unknown): void {
  const result = tenantConfigWriteSchema.safeParse(input ?? {}, { error: configIssueMessage });
  if (!result.success) throw new InvalidConfig(oneLine(result.error));
}

/** `patch` merged over `base`: nested objects merge key by key, anything else (arrays too) replaces. */
export function mergeTenantConfig(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = Object.hasOwn(out, key) ? out[key] : undefined;
    const merged = isPlainObject(current) && isPlainObject(value) ? mergeTenantConfig(current, value) : value;
    // defineProperty: a JSON key "__proto__" stays a plain (and then refused) field, never a prototype.
    Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
