/** Error codes shared by every transport. Each maps to one HTTP status (see `httpStatusOf`). */
export const errorCodes = {
  unknown_tenant: 404,
  unknown_source: 404,
  not_found: 404,
  missing_credentials: 401,
  invalid_signature: 401,
  unauthorized: 401,
  forbidden: 403,
  too_many_requests: 429,
  /** A tenant's sender past its intake budget (receiver); Stripe, GHL and Make retry on 429. */
  rate_limited: 429,
  /** The request body did not arrive within the read deadline (receiver). */
  request_timeout: 408,
  payload_too_large: 413,
  invalid_json: 400,
  invalid_payload: 400,
  bad_request: 400,
  invalid_config: 400,
  unavailable: 503,
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof errorCodes;

/** Base class for every expected, typed failure. `code` decides the HTTP status and the CLI message. */
export class McbError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Unknown or inactive tenant slug. Message is exactly `Unknown tenant: <slug>`. */
export class UnknownTenant extends McbError {
  readonly slug: string;
  constructor(slug: string) {
    super('unknown_tenant', `Unknown tenant: ${slug}`);
    this.slug = slug;
  }
}

/** A provider that is needed but has no active integration for the tenant. */
export class MissingCredentials extends McbError {
  readonly slug: string;
  readonly provider: string;
  /** `fix`, when given, is what the operator runs to add them (appended after `: `). */
  constructor(slug: string, provider: string, fix?: string) {
    super('missing_credentials', `Missing credentials: ${provider} for tenant ${slug}${fix ? `; ${fix}` : ''}`);
    this.slug = slug;
    this.provider = provider;
  }
}

/** A tenant config that does not match the schema; the message names the field. */
export class InvalidConfig extends McbError {
  constructor(message: string) {
    super('invalid_config', message);
  }
}

export function httpStatusOf(code: ErrorCode): number {
  return errorCodes[code];
}

/**
 * What `errorResponse` needs of a request context: a Hono `Context` whose variables hold the request
 * id (structural, so that core does not depend on Hono).
 */
export interface ErrorResponseContext {
  get(key: 'requestId'): string;
  json(body: unknown, status: never): Response;
}

/**
 * The error answer of every HTTP app (receiver, console): body `{error:{code,message,requestId}}`,
 * status from `errorCodes`.
 */
export function errorResponse(c: ErrorResponseContext, code: ErrorCode, message: string): Response {
  return c.json({ error: { code, message, requestId: c.get('requestId') } }, httpStatusOf(code) as never);
}
