import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateLabels, validateName, validateObjectMeta, validateQualifiedName } from './names.ts';

describe('names and metadata', () => {
  it('applies the DNS subdomain and label rules', () => {
    assert.deepEqual(validateName('web-1.example', 'subdomain', 'metadata.name'), []);
    assert.equal(validateName('Web', 'subdomain', 'metadata.name').length, 1);
    assert.equal(validateName('a.b', 'label', 'metadata.name').length, 1);
    assert.equal(validateName('x'.repeat(64), 'label', 'metadata.name').length, 1);
    assert.deepEqual(validateName('Any:Thing', 'path-segment', 'metadata.name'), []);
    assert.equal(validateName('a/b', 'path-segment', 'metadata.name').length, 1);
  });

  it('validates qualified names, labels and their values with field paths', () => {
    assert.deepEqual(validateQualifiedName('example.com/team', 'k'), []);
    assert.equal(validateQualifiedName('/team', 'k').length, 1);
    const causes = validateLabels({ ok: 'fine', 'bad key!': 'v', good: 'not valid value' }, 'metadata.labels');
    assert.equal(causes.length, 2);
    assert.ok(causes.some((c) => c.field === 'metadata.labels.good'));
  });

  it('needs a name or generateName and at most one controller reference', () => {
    assert.equal(validateObjectMeta({}, 'subdomain', true)[0]?.reason, 'FieldValueRequired');
    assert.deepEqual(validateObjectMeta({ generateName: 'web-' }, 'subdomain', true), []);
    const two = validateObjectMeta({ name: 'a', ownerReferences: [
      { apiVersion: 'v1', kind: 'X', name: 'a', uid: '1', controller: true },
      { apiVersion: 'v1', kind: 'X', name: 'b', uid: '2', controller: true },
    ] }, 'subdomain', true);
    assert.match(two[0]?.message ?? '', /Only one reference can have Controller set to true/);
  });
});
