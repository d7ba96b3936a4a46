import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadOrCreateKey, openSecretData, sealSecretData, sealedPrefix } from './secret-box.ts';

const homes: string[] = [];
function makeHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'nephele-secret-box-'));
  homes.push(home);
  return home;
}
after(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

const key = createSecretKey(randomBytes(32));
const data = { username: 'YWRtaW4=', password: 'czNjcjN0', empty: '', unicode: 'äöü✓' };

/** Flips one bit of the decoded body at `index` (negative counts from the end). */
function flipBit(sealed: string, index: number): string {
  const bytes = Buffer.from(sealed.slice(sealedPrefix.length), 'base64');
  bytes[(index + bytes.length) % bytes.length]! ^= 0x01;
  return sealedPrefix + bytes.toString('base64');
}

describe('loadOrCreateKey', () => {
  it('creates a 32-byte key file with mode 0600 and loads the same key later', async () => {
    const home = makeHome();
    const first = await loadOrCreateKey(home);
    const path = join(home, 'encryption.key');
    assert.equal(readFileSync(path).length, 32);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const again = await loadOrCreateKey(home);
    assert.ok(first.equals(again));
  });

  it('gives racing callers the same key', async () => {
    const home = makeHome();
    const keys = await Promise.all([loadOrCreateKey(home), loadOrCreateKey(home), loadOrCreateKey(home)]);
    assert.ok(keys.every((k) => k.equals(keys[0]!)));
  });

  it('refuses a key file of the wrong size', async () => {
    const home = makeHome();
    writeFileSync(join(home, 'encryption.key'), randomBytes(16));
    await assert.rejects(loadOrCreateKey(home), /holds 16 bytes; an encryption key is exactly 32/);
  });
});

describe('sealSecretData / openSecretData', () => {
  it('round-trips data under the versioned prefix', () => {
    const sealed = sealSecretData(key, data);
    assert.ok(sealed.startsWith('nephele:aesgcm:v1:'));
    assert.ok(!sealed.includes('czNjcjN0'));
    assert.deepEqual(openSecretData(key, sealed), data);
    assert.deepEqual(openSecretData(key, sealSecretData(key, {})), {});
  });

  it('uses a fresh nonce each time', () => {
    const a = sealSecretData(key, data);
    const b = sealSecretData(key, data);
    assert.notEqual(a, b);
    const nonce = (s: string) => Buffer.from(s.slice(sealedPrefix.length), 'base64').subarray(0, 12).toString('hex');
    assert.notEqual(nonce(a), nonce(b));
  });

  it('detects a changed nonce, ciphertext or tag', () => {
    const sealed = sealSecretData(key, data);
    for (const index of [0, 11, 12, 20, -17, -1]) {
      assert.throws(() => openSecretData(key, flipBit(sealed, index)), /failed authentication: it was tampered with/, `bit flipped at ${index}`);
    }
  });

  it('refuses another key and another context', () => {
    const sealed = sealSecretData(key, data, '/registry/secrets/default/db');
    assert.deepEqual(openSecretData(key, sealed, '/registry/secrets/default/db'), data);
    assert.throws(() => openSecretData(createSecretKey(randomBytes(32)), sealed, '/registry/secrets/default/db'), /failed authentication/);
    assert.throws(() => openSecretData(key, sealed, '/registry/secrets/default/other'), /failed authentication/);
    assert.throws(() => openSecretData(key, sealed), /failed authentication/);
  });

  it('names unknown formats, damaged bodies and truncation', () => {
    const sealed = sealSecretData(key, data);
    assert.throws(() => openSecretData(key, sealed.replace(':v1:', ':v9:')), /unknown format "nephele:aesgcm:v9:"/);
    assert.throws(() => openSecretData(key, '{"password":"plain"}'), (err: Error) => /not sealed/.test(err.message) && !err.message.includes('plain'));
    assert.throws(() => openSecretData(key, sealed + '!'), /not base64/);
    assert.throws(() => openSecretData(key, sealedPrefix + 'AAAA'), /truncated/);
    assert.throws(() => openSecretData(key, sealed.slice(0, -8)), /failed authentication/);
  });

  it('refuses a key that is not 32 bytes', () => {
    assert.throws(() => sealSecretData(createSecretKey(randomBytes(16)), data), /32-byte secret key/);
  });
});
