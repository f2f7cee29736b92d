import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SealedEnvelope } from '@mcb/db';

/** An encrypted value as stored in Postgres (`tenant_integrations.credentials`, and as JSON text in the secret columns). */
export type Envelope = SealedEnvelope;

export interface Keyring {
  /** Key id that new values are sealed with. */
  currentKid: string;
  keys: Map<string, Buffer>;
}

/** Key id of a raw key: first 8 hex chars of its SHA-256 (stable, reveals nothing useful). */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * Parses `MCB_ENCRYPTION_KEY`: one or more comma-separated keys, each `base64` or `kid:base64`,
 * 32 bytes each. The first is current; the others stay accepted for decryption (rotation).
 */
export function parseKeyring(value: string): Keyring {
  const keys = new Map<string, Buffer>();
  let currentKid = '';
  for (const part of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9_-]{1,32}):(.+)$/.exec(part);
    const key = Buffer.from(m ? (m[2] as string) : part, 'base64');
    if (key.length !== 32) throw new Error('MCB_ENCRYPTION_KEY: every key must be 32 bytes, base64');
    const kid = m ? (m[1] as string) : keyIdOf(key);
    if (!currentKid) currentKid = kid;
    keys.set(kid, key);
  }
  if (!currentKid) throw new Error('MCB_ENCRYPTION_KEY is empty');
  return { currentKid, keys };
}

/** Generates a new random 32-byte key, base64. */
export function generateKey(): string {
  return randomBytes(32).toString('base64');
}

/** Seals `plaintext` under the keyring's current key. */
export function encrypt(keyring: Keyring, plaintext: string): Envelope {
  const key = keyring.keys.get(keyring.currentKid) as Buffer;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    v: 1,
    kid: keyring.currentKid,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ct: ct.toString('base64'),
  };
}

/** Opens an envelope with the key named by its `kid`. Throws when the key is unknown or data was altered. */
export function decrypt(keyring: Keyring, envelope: Envelope): string {
  const key = keyring.keys.get(envelope.kid);
  if (!key)
    throw new Error(
      `This process's MCB_ENCRYPTION_KEY has no key with id ${envelope.kid}, which sealed this value: give every app the keyring it was sealed with (while rotating, "new,old" on every app before mcb keys rotate; README "Rotating the encryption key")`,
    );
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64'));
  decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(envelope.ct, 'base64')), decipher.final()]).toString('utf8');
}

/** Text-column form of an envelope (webhook secrets are `text`). */
export function sealText(keyring: Keyring, plaintext: string): string {
  return JSON.stringify(encrypt(keyring, plaintext));
}

export function openText(keyring: Keyring, sealed: string): string {
  return decrypt(keyring, JSON.parse(sealed) as Envelope);
}

/** JSON-column form (credentials are `jsonb`). */
export function sealJson(keyring: Keyring, value: Record<string, unknown>): Envelope {
  return encrypt(keyring, JSON.stringify(value));
}

export function openJson(keyring: Keyring, envelope: Envelope): Record<string, unknown> {
  return JSON.parse(decrypt(keyring, envelope)) as Record<string, unknown>;
}
