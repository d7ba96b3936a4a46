import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labelSelectorFromObject, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { StatusError } from './status-error.ts';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'frontend', 'example.com/team': 'a', rank: '5' };

  it('matches every operator', () => {
    const cases: Array<[string, boolean]> = [
      ['', true],
      ['app=web', true],
      ['app==web', true],
      ['app!=web', false],
      ['app=db', false],
      ['missing!=x', true],
      ['tier in (frontend, backend)', true],
      ['tier notin (frontend)', false],
      ['app,tier', true],
      ['!missing', true],
      ['!app', false],
      ['example.com/team=a', true],
      ['app=web,tier in (backend)', false],
      ['rank>3', true],
      ['rank<3', false],
    ];
    for (const [selector, expected] of cases) {
      assert.equal(parseLabelSelector(selector).matches(labels), expected, selector);
    }
  });

  it('rejects malformed selectors with a 400 naming the problem', () => {
    for (const bad of ['app in (', 'app=web,', '=web', 'a b=c', 'app=-bad-', 'k in ()', 'n>x']) {
      assert.throws(() => parseLabelSelector(bad), (err: unknown) => err instanceof StatusError && err.code === 400, bad);
    }
  });

  it('reads the matchLabels/matchExpressions form', () => {
    const selector = labelSelectorFromObject({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }, { key: 'legacy', operator: 'DoesNotExist' }] });
    assert.equal(selector.matches(labels), true);
    assert.equal(selector.matches({ ...labels, legacy: 'x' }), false);
    assert.equal(selector.toString(), 'app=web,tier in (frontend),!legacy');
  });
});

describe('field selectors', () => {
  const supported = ['metadata.name', 'metadata.namespace', 'status.phase'];

  it('matches = and !=', () => {
    const s = parseFieldSelector('metadata.name=web,status.phase!=Failed', supported);
    assert.equal(s.matches({ 'metadata.name': 'web', 'status.phase': 'Running' }), true);
    assert.equal(s.matches({ 'metadata.name': 'web', 'status.phase': 'Failed' }), false);
    assert.equal(s.matches({ 'metadata.name': 'db', 'status.phase': 'Running' }), false);
  });

  it('refuses unsupported fields and malformed terms', () => {
    assert.throws(() => parseFieldSelector('spec.foo=bar', supported), /field label not supported: spec\.foo/);
    assert.throws(() => parseFieldSelector('metadata.name', supported), /not of the form/);
  });
});
