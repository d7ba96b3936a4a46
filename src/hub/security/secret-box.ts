/**
 * Encryption at rest for the data of Secrets. A sealed value is text:
 *
 *     nephele:aesgcm:v1:<base64 of nonce (12 bytes) ‖ ciphertext ‖ GCM tag (16 bytes)>
 *
 * The plaintext is the JSON of the data map; the cipher is AES-256-GCM with a fresh random nonce
 * per seal. The prefix names the format so a later version can be told apart and migrated; it
 * is also authenticated, with the optional context, as additional data.
 *
 * One key seals at most 2^32 values before nonce collisions become a concern (NIST SP 800-38D);
 * far beyond a hub's Secret writes over a key's life, but key rotation is not implemented here.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createFileAtomically, privateMode, readFileIfExists, type WriteOptions } from './private-file.ts';

/** The key Secret data is sealed with: 32 bytes for AES-256, held as a KeyObject. */
export type SecretBoxKey = KeyObject;

export const sealedPrefix = 'nephele:aesgcm:v1:';

const keyBytes = 32;
const nonceBytes = 12;
const tagBytes = 16;

/**
 * The hub's Secret encryption key from `home/encryption.key` (32 raw bytes, mode 0600),
 * created from random bytes when the file does not exist. Idempotent, and safe when two
 * processes call it at once: both end with the same key. Throws if the file is not 32 bytes.
 *
 * Losing this file makes every sealed Secret unreadable: back it up with the data.
 */
export async function loadOrCreateKey(home: string, options: WriteOptions = {}): Promise<SecretBoxKey> {
  const path = join(home, 'encryption.key');
  let bytes = await readFileIfExists(path);
  if (bytes === undefined) {
    mkdirSync(home, { recursive: true, mode: 0o700 });
    const fresh = randomBytes(keyBytes);
    bytes = createFileAtomically(path, fresh, privateMode, options) ? fresh : await readFileIfExists(path);
    if (bytes === undefined) throw new Error(`${path} vanished while it was being created`);
  }
  if (bytes.length !== keyBytes) {
    throw new Error(`${path} holds ${bytes.length} bytes; an encryption key is exactly ${keyBytes}`);
  }
  return createSecretKey(bytes);
}

/**
 * Seals a Secret's data. `context` (for example the object's storage key) is bound to the
 * result: opening with another context fails, so a sealed value copied onto another Secret is
 * refused rather than silently accepted. Each call gives a different result for the same input.
 */
export function sealSecretData(key: SecretBoxKey, data: Record<string, string>, context = ''): string {
  checkKey(key);
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: tagBytes });
  cipher.setAAD(additionalData(context));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()]);
  return sealedPrefix + Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]).toString('base64');
}

/**
 * Opens what `sealSecretData` sealed with the same key and context. Throws an Error when the
 * value is not in a known format, is truncated, or fails authentication: changed in any bit,
 * sealed with another key, or sealed for another context.
 */
export function openSecretData(key: SecretBoxKey, sealed: string, context = ''): Record<string, string> {
  checkKey(key);
  if (!sealed.startsWith(sealedPrefix)) {
    // Name the format only when it is one of ours: anything else might be plaintext secret data.
    const format = /^nephele:[a-z0-9-]{1,32}:[a-z0-9-]{1,32}:/.exec(sealed)?.[0];
    throw new Error(
      format === undefined
        ? `Secret data is not sealed: expected prefix ${JSON.stringify(sealedPrefix)}`
        : `sealed Secret data has an unknown format ${JSON.stringify(format)}; this hub reads ${JSON.stringify(sealedPrefix)}`,
    );
  }
  const body = sealed.slice(sealedPrefix.length);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
    throw new Error('sealed Secret data is damaged: its body is not base64');
  }
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length < nonceBytes + tagBytes) {
    throw new Error('sealed Secret data is truncated');
  }
  const nonce = bytes.subarray(0, nonceBytes);
  const ciphertext = bytes.subarray(nonceBytes, bytes.length - tagBytes);
  const tag = bytes.subarray(bytes.length - tagBytes);

  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: tagBytes });
  decipher.setAAD(additionalData(context));
  decipher.setAuthTag(tag);
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new Error('sealed Secret data failed authentication: it was tampered with, or sealed with another key or context');
  }

  // Authentic, so written by sealSecretData; checked anyway, as the one way in from storage.
  const data: unknown = JSON.parse(plaintext.toString('utf8'));
  if (typeof data !== 'object' || data === null || Array.isArray(data) || !Object.values(data).every((v) => typeof v === 'string')) {
    throw new Error('sealed Secret data does not hold a map of strings');
  }
  return data as Record<string, string>;
}

function additionalData(context: string): Buffer {
  return Buffer.from(sealedPrefix + context, 'utf8');
}

function checkKey(key: SecretBoxKey): void {
  if (key.type !== 'secret' || key.symmetricKeySize !== keyBytes) {
    throw new Error(`a Secret encryption key must be a ${keyBytes}-byte secret key`);
  }
}
