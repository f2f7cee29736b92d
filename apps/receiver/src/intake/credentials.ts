import type { Source } from '@mcb/sources';

/** Headers that carry a signature or a shared secret for some source (SPEC §3.1), lowercase. */
const credentialHeaders = ['stripe-signature', 'x-ghl-signature', 'x-wh-signature', 'x-webhook-secret', 'authorization'] as const;

/**
 * Whether a rejected delivery carried credential material — a signature header, a secret header,
 * `Authorization`, `?secret=`, or for denefits a `secret_key` in the body (a byte search: a rejected
 * body is never parsed) — whether or not it was right. Such a rejection is what an operator needs to
 * see (an old secret, a wrong signing key) and has its own budget of stored rejections, apart from
 * credential-less junk anyone can post to a tenant's URL. Presence only: nothing is compared here.
 */
export function carriesCredentials(
  source: Source,
  headers: Readonly<Record<string, string | undefined>>,
  query: Readonly<Record<string, string | undefined>>,
  body: Uint8Array,
): boolean {
  for (const name of credentialHeaders) if (headers[name]?.trim()) return true;
  if (query.secret?.trim()) return true;
  return source === 'denefits' && Buffer.from(body.buffer, body.byteOffset, body.byteLength).includes('secret_key');
}
