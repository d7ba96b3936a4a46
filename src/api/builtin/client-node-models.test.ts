import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadClientNodeModel, parseModelDocs } from './client-node-models.ts';

test('parseModelDocs reads the class and field comments and which fields are optional', () => {
  const text = [
    '/**',
    ' * Kubernetes',
    ' */',
    "import { V1Thing } from '../models/V1Thing.js';",
    '/**',
    '* A widget\\\'s spec.',
    '*/',
    'export declare class V1WidgetSpec {',
    '    /**',
    '    * Says \\"hello\\".',
    '    */',
    "    'greeting'?: string;",
    "    'thing': V1Thing;",
    '    /**',
    '    * Labels.',
    '    */',
    "    'labels'?: {",
    '        [key: string]: string;',
    '    };',
    "    'size': number;",
    '    static readonly discriminator: string | undefined;',
    '}',
  ].join('\n');
  const docs = parseModelDocs(text);
  assert.equal(docs.description, "A widget's spec.");
  assert.deepEqual(Object.fromEntries(docs.fields), {
    greeting: { description: 'Says "hello".', optional: true },
    thing: { description: undefined, optional: false },
    labels: { description: 'Labels.', optional: true },
    size: { description: undefined, optional: false },
  });
});

test('loadClientNodeModel joins attribute types with docs, under wire names', () => {
  const model = loadClientNodeModel('V1ListMeta');
  assert.match(model.description ?? '', /^ListMeta describes metadata/);
  const cont = model.fields.find((f) => f.jsonName === 'continue');
  assert.equal(cont?.type, 'string');
  assert.equal(cont?.required, false);
  const count = model.fields.find((f) => f.jsonName === 'remainingItemCount');
  assert.deepEqual([count?.type, count?.format], ['number', 'int64']);
  assert.deepEqual(
    loadClientNodeModel('V1Container').fields.filter((f) => f.required).map((f) => f.jsonName),
    ['name'],
  );
});
