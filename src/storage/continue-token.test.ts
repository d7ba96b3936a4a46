import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeContinue, encodeContinue } from './continue-token.ts';

describe('continue tokens', () => {
  it('round-trip the position and read as opaque base64url', () => {
    const token = encodeContinue({ key: '/registry/pods/default/web-0', revision: 42 });
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeContinue(token, '/registry/pods/'), { key: '/registry/pods/default/web-0', revision: 42 });
  });

  it('reject garbage and tokens of another prefix as BadRequest', () => {
    const foreign = encodeContinue({ key: '/registry/secrets/x', revision: 1 });
    for (const token of ['', '!!!', 'e30', Buffer.from('{"k":"/a/x","r":-1}').toString('base64url'), foreign]) {
      assert.throws(() => decodeContinue(token, '/registry/pods/'), { reason: 'BadRequest', message: 'invalid continue token' }, token);
    }
  });
});
