import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileMatchConditions, evaluateMatchConditions, matchConditionProblems } from './match-conditions.ts';

const vars = { object: { metadata: { name: 'a', labels: { tier: 'web' } } }, oldObject: null, request: { operation: 'CREATE', userInfo: { username: 'admin' } } };
const run = (...expressions: string[]) => evaluateMatchConditions(compileMatchConditions(expressions.map((expression, i) => ({ name: `c${i}`, expression }))), vars);

describe('matchConditions', () => {
  it('calls when every condition is true, and skips on the first false one', () => {
    assert.deepEqual(run("object.metadata.labels.tier == 'web'", "request.operation == 'CREATE'", 'oldObject == null'), { result: 'call' });
    assert.deepEqual(run("request.userInfo.username == 'admin'", "object.metadata.name == 'b'"), { result: 'skip', condition: 'c1' });
  });

  it('lets a false condition win over an error, and reports an error otherwise', () => {
    assert.deepEqual(run('object.metadata.labels.missing == "x"', 'false'), { result: 'skip', condition: 'c1' });
    const error = run('object.metadata.labels.missing == "x"', 'true');
    assert.equal(error.result, 'error');
    assert.equal(error.result === 'error' && error.condition, 'c0');
    assert.match(error.result === 'error' ? error.message : '', /No such key: missing/);
    const notBool = run('object.metadata.name');
    assert.equal(notBool.result, 'error');
    assert.match(notBool.result === 'error' ? notBool.message : '', /not a bool/);
  });

  it('finds uncompilable expressions, missing and duplicate names, and too many conditions in a configuration', () => {
    const config = (conditions: unknown[]) => ({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'x' }, webhooks: [{ name: 'w', matchConditions: conditions }] });
    assert.deepEqual(matchConditionProblems(config([{ name: 'ok', expression: 'true' }])), []);
    const causes = matchConditionProblems(config([{ name: 'a', expression: '1 +' }, { name: 'a', expression: 'true' }, { name: '', expression: ' ' }]));
    assert.deepEqual(causes.map((c) => [c.field, c.reason]), [
      ['webhooks[0].matchConditions[0].expression', 'FieldValueInvalid'],
      ['webhooks[0].matchConditions[1].name', 'FieldValueDuplicate'],
      ['webhooks[0].matchConditions[2].name', 'FieldValueRequired'],
      ['webhooks[0].matchConditions[2].expression', 'FieldValueRequired'],
    ]);
    const many = matchConditionProblems(config(Array.from({ length: 65 }, (_, i) => ({ name: `c${i}`, expression: 'true' }))));
    assert.deepEqual(many.map((c) => c.reason), ['FieldValueTooMany']);
  });
});
