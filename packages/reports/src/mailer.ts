import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Resend } from 'resend';

/** One email to deliver. `outboxName` (`<slug>/<week>`) names the files when there is no provider. */
export interface OutgoingEmail {
  from: string;
  to: string[];
  subject: string;
  html: string;
  text: string;
  /** Same key → the provider delivers once (Resend keeps keys 24 h). */
  idempotencyKey: string;
  outboxName: string;
  /** Written beside the email in the outbox (the report's figures); not sent. */
  json?: unknown;
}

export type Delivery =
  | { kind: 'resend'; messageId: string }
  /** Resend already accepted this key with other content: the email went out earlier. */
  | { kind: 'resend_duplicate'; messageId: null }
  | { kind: 'outbox'; messageId: string; files: { html: string; text: string; json: string | null } };

/** A failed delivery; `retryable` says whether sending again later can succeed. */
export class MailerError extends Error {
  readonly retryable: boolean;
  readonly statusCode: number | null;
  constructor(message: string, retryable: boolean, statusCode: number | null) {
    super(message);
    this.name = 'MailerError';
    this.retryable = retryable;
    this.statusCode = statusCode;
  }
}

export interface Mailer {
  readonly kind: 'resend' | 'outbox';
  /** `signal` aborts a send in flight (a worker shutting down): a retryable `MailerError`. */
  send(email: OutgoingEmail, options?: { signal?: AbortSignal }): Promise<Delivery>;
}

export interface ResendMailerOptions {
  apiKey: string;
  /** Resend API base URL (default https://api.resend.com); tests point it at a local fake. */
  baseUrl?: string;
  /** Longest wait for one send's answer (default 30 s): past it a retryable `MailerError`. */
  timeoutMs?: number;
}

/** Sends through the `resend` SDK with the email's idempotency key. Throws `MailerError`. */
export function createResendMailer({ apiKey, baseUrl, timeoutMs = 30_000 }: ResendMailerOptions): Mailer {
  const resend = new Resend(apiKey, baseUrl ? { baseUrl } : undefined);
  return {
    kind: 'resend',
    async send(email, options) {
      // Bounded: a Resend that accepted the connection and never answered held the report job (and
      // `mcb report send`) forever (faults walk, stop 37). Sent again later under the same idempotency
      // key, the email still goes out once. A worker shutting down aborts it too (SPEC §10.7: release).
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = options?.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
      const timedOut = () =>
        options?.signal?.aborted
          ? new MailerError('Resend: send aborted (shutting down)', true, null)
          : new MailerError(`Resend: no answer within ${timeoutMs} ms`, true, null);
      const answer = await resend.emails
        .send(
          { from: email.from, to: email.to, subject: email.subject, html: email.html, text: email.text },
          { idempotencyKey: email.idempotencyKey, signal },
        )
        .catch((err: unknown) => {
          throw signal.aborted ? timedOut() : err;
        });
      const { data, error } = answer;
      // The SDK turns the abort into an `application_error` answer: said as what it was.
      if (!data?.id && signal.aborted) throw timedOut();
      if (data?.id) return { kind: 'resend', messageId: data.id };
      const status = (error as { statusCode?: number | null } | null)?.statusCode ?? null;
      const name = error?.name ?? 'unknown_error';
      // https://resend.com/docs/dashboard/emails/idempotency-keys — same key, other payload: it was sent.
      if (name === 'invalid_idempotent_request') return { kind: 'resend_duplicate', messageId: null };
      const retryable = status === null || status === 429 || status >= 500 || name === 'concurrent_idempotent_requests';
      throw new MailerError(`Resend: ${name}: ${error?.message ?? 'no response'}`, retryable, status);
    },
  };
}

/** Writes `<dir>/<outboxName>.html|.txt|.json` instead of sending (no RESEND_API_KEY). Overwrites. */
export function createOutboxMailer({ dir }: { dir: string }): Mailer {
  return {
    kind: 'outbox',
    async send(email) {
      const base = resolve(join(dir, email.outboxName.replace(/[^a-zA-Z0-9/_-]/g, '_')));
      await mkdir(dirname(base), { recursive: true });
      const header = `Subject: ${email.subject}\nFrom: ${email.from}\nTo: ${email.to.join(', ')}\nIdempotency-Key: ${email.idempotencyKey}\n\n`;
      const files = { html: `${base}.html`, text: `${base}.txt`, json: email.json === undefined ? null : `${base}.json` };
      await writeFile(files.html, email.html);
      await writeFile(files.text, header + email.text);
      if (files.json) await writeFile(files.json, `${JSON.stringify(email.json, null, 2)}\n`);
      return { kind: 'outbox', messageId: `outbox:${files.html}`, files };
    },
  };
}

export interface ReportMailerConfig {
  /** Resend API key; without one, reports go to the outbox folder. */
  resendApiKey?: string | undefined;
  resendBaseUrl?: string | undefined;
  resendTimeoutMs?: number | undefined;
  outboxDir: string;
}

/** Resend when an API key is configured, else the local outbox (SPEC §7). */
export function createReportMailer(config: ReportMailerConfig): Mailer {
  return config.resendApiKey
    ? createResendMailer({ apiKey: config.resendApiKey, baseUrl: config.resendBaseUrl, timeoutMs: config.resendTimeoutMs })
    : createOutboxMailer({ dir: config.outboxDir });
}
