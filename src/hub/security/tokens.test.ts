import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { StatusError } from '../../machinery/status-error.ts';
import { addBootstrapToken, addToken, authenticateOrReject, ensureAdminToken, listBootstrapTokens, loadTokens, removeBootstrapToken } from './tokens.ts';

const homes: string[] = [];
function makeHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'nephele-tokens-'));
  homes.push(home);
  return home;
}
after(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

describe('ensureAdminToken', () => {
  it('creates tokens.json, mode 0600, with a 32-byte base64url admin token', async () => {
    const home = makeHome();
    const token = await ensureAdminToken(home);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    const path = join(home, 'tokens.json');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), {
      tokens: [{ token, user: 'admin', groups: ['system:masters'] }],
    });
  });

  it('returns the same token on later calls', async () => {
    const home = makeHome();
    const first = await ensureAdminToken(home);
    assert.equal(await ensureAdminToken(home), first);
    assert.equal(JSON.parse(readFileSync(join(home, 'tokens.json'), 'utf8')).tokens.length, 1);
  });
});

describe('loadTokens', () => {
  it('authenticates the admin as system:masters', async () => {
    const home = makeHome();
    const token = await ensureAdminToken(home);
    const tokens = await loadTokens(home);
    assert.deepEqual(tokens.authenticate(`Bearer ${token}`), { user: 'admin', groups: ['system:masters', 'system:authenticated'] });
    assert.deepEqual(tokens.authenticate(`bearer   ${token} `)?.user, 'admin');
  });

  it('answers undefined for a missing, malformed, or unknown credential', async () => {
    const home = makeHome();
    const token = await ensureAdminToken(home);
    const tokens = await loadTokens(home);
    assert.equal(tokens.authenticate(undefined), undefined);
    assert.equal(tokens.authenticate(''), undefined);
    assert.equal(tokens.authenticate('Bearer'), undefined);
    assert.equal(tokens.authenticate(`Basic ${token}`), undefined);
    assert.equal(tokens.authenticate(token), undefined);
    assert.equal(tokens.authenticate(`Bearer ${token}x`), undefined);
    assert.equal(tokens.authenticate(`Bearer ${token.slice(0, -1)}`), undefined);
    assert.equal(tokens.authenticate(`Bearer ${token} extra`), undefined);
  });

  it('knows tokens added later once reloaded, and keeps the old ones', async () => {
    const home = makeHome();
    const admin = await ensureAdminToken(home);
    const before = await loadTokens(home);
    const alice = await addToken(home, 'alice', ['devs', 'oncall']);
    const second = await addToken(home, 'alice', ['devs']);
    assert.notEqual(alice, second);
    assert.equal(before.authenticate(`Bearer ${alice}`), undefined);

    const tokens = await loadTokens(home);
    assert.equal(tokens.authenticate(`Bearer ${admin}`)?.user, 'admin');
    assert.deepEqual(tokens.authenticate(`Bearer ${alice}`), { user: 'alice', groups: ['devs', 'oncall', 'system:authenticated'] });
    assert.deepEqual(tokens.authenticate(`Bearer ${second}`)?.groups, ['devs', 'system:authenticated']);
    assert.equal(statSync(join(home, 'tokens.json')).mode & 0o777, 0o600);
  });

  it('treats a missing file as no tokens', async () => {
    const tokens = await loadTokens(makeHome());
    assert.equal(tokens.authenticate('Bearer anything'), undefined);
  });

  it('rejects a malformed tokens.json with a message naming the problem', async () => {
    const home = makeHome();
    const path = join(home, 'tokens.json');
    writeFileSync(path, '{ not json');
    await assert.rejects(loadTokens(home), /tokens\.json is not valid JSON/);
    writeFileSync(path, JSON.stringify({ tokens: [{ token: 'a b', user: 'x', groups: [] }] }));
    await assert.rejects(loadTokens(home), /tokens\[0\]: token must be/);
    writeFileSync(path, JSON.stringify({ tokens: [{ token: 't', user: 'x', groups: 'admins' }] }));
    await assert.rejects(loadTokens(home), /groups must be an array/);
    writeFileSync(path, JSON.stringify({ tokens: [{ token: 't', user: 'x', groups: [] }, { token: 't', user: 'y', groups: [] }] }));
    await assert.rejects(loadTokens(home), /tokens\[1\] repeats an earlier token/);
  });

  it('refuses to add a token for an empty user', async () => {
    await assert.rejects(addToken(makeHome(), ' ', []), /user must be a non-empty string/);
  });
});

describe('authenticateOrReject', () => {
  it('throws an Unauthorized StatusError for an unknown token', async () => {
    const home = makeHome();
    const token = await ensureAdminToken(home);
    const tokens = await loadTokens(home);
    assert.equal(authenticateOrReject(tokens, `Bearer ${token}`).user, 'admin');
    assert.throws(
      () => authenticateOrReject(tokens, 'Bearer nope'),
      (err: unknown) => err instanceof StatusError && err.code === 401 && err.reason === 'Unauthorized',
    );
  });
});

describe('bootstrap tokens', () => {
  it('are listed by public id with their bound cluster, and removed by id without touching other tokens', async () => {
    const home = makeHome();
    const admin = await ensureAdminToken(home);
    const any = await addBootstrapToken(home);
    const bound = await addBootstrapToken(home, { cluster: 'edge' });
    const [anyId, boundId] = [any.split('.')[0]!, bound.split('.')[0]!];
    assert.deepEqual(await listBootstrapTokens(home), [
      { id: anyId, user: `system:bootstrap:${anyId}` },
      { id: boundId, user: `system:bootstrap:${boundId}`, cluster: 'edge' },
    ]);
    await removeBootstrapToken(home, bound); // the whole token works as well as its id
    assert.deepEqual((await listBootstrapTokens(home)).map((t) => t.id), [anyId]);
    await assert.rejects(removeBootstrapToken(home, boundId), /no bootstrap token with id/);
    await assert.rejects(removeBootstrapToken(home, admin), /no bootstrap token with id/, 'the admin token is not a bootstrap token');
    const tokens = await loadTokens(home);
    assert.equal(tokens.authenticate(`Bearer ${admin}`)?.user, 'admin');
    assert.equal(tokens.authenticate(`Bearer ${bound}`), undefined);
    assert.equal(tokens.authenticate(`Bearer ${any}`)?.user, `system:bootstrap:${anyId}`);
  });
});
