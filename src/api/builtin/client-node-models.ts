/**
 * Reads one @kubernetes/client-node model: its fields with their types and formats (from the class's
 * generated `attributeTypeMap`) and the descriptions and required-ness the generator only kept in the
 * model's `.d.ts` (JSDoc comments, `?` on optional fields). Loading is synchronous and touches only
 * the two files of the model asked for, so a caller pays for exactly the models it walks.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface ModelField {
  /** The field's name on the wire (client-node renames some, e.g. `_default` for `default`). */
  jsonName: string;
  /** client-node's type expression: `string`, `number`, `Array<V1Container>`, `{ [key: string]: string; }`, ... */
  type: string;
  /** OpenAPI format as client-node recorded it: `int32`, `int64`, `double`, `byte`, `date-time`, `date-time-micro`, `int-or-string`, or ''. */
  format: string;
  description: string | undefined;
  required: boolean;
}

export interface ClientNodeModel {
  className: string;
  description: string | undefined;
  fields: ModelField[];
}

interface AttributeType {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

interface FieldDoc {
  description: string | undefined;
  optional: boolean;
}

const modelsDir = fileURLToPath(new URL('./gen/models/', import.meta.resolve('@kubernetes/client-node')));
// The model modules are standalone ESM without top-level await, so Node 24's require(esm) loads them
// synchronously; importing the package index instead would load all ~900 models (about half a second).
const requireModel = createRequire(modelsDir);

/** Loads a client-node model by class name; throws when the package has no such model. */
export function loadClientNodeModel(className: string): ClientNodeModel {
  const module = requireModel(`./${className}.js`) as Record<string, { attributeTypeMap?: AttributeType[] } | undefined>;
  const attributes = module[className]?.attributeTypeMap;
  if (!attributes) throw new Error(`@kubernetes/client-node model ${className} has no attributeTypeMap`);
  const docs = parseModelDocs(readFileSync(`${modelsDir}${className}.d.ts`, 'utf8'));
  return {
    className,
    description: docs.description,
    fields: attributes.map((a) => {
      const doc = docs.fields.get(a.name);
      return {
        jsonName: a.baseName,
        type: a.type,
        format: a.format,
        description: doc?.description,
        required: doc !== undefined && !doc.optional,
      };
    }),
  };
}

const fieldLine = /^'([^']+)'(\?)?:/;

/**
 * The class description and per-field docs of a generated model `.d.ts`. The generator writes each
 * comment as `/**`, `* text` lines, `*\/`, directly above the class or field it documents; any other
 * line in between (imports, continuation lines of a map type) detaches a pending comment.
 */
export function parseModelDocs(text: string): { description: string | undefined; fields: Map<string, FieldDoc> } {
  const fields = new Map<string, FieldDoc>();
  let description: string | undefined;
  let inClass = false;
  let comment: string[] | undefined;
  let pending: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (comment) {
      if (line === '*/') {
        pending = unescapeDoc(comment.join('\n'));
        comment = undefined;
      } else {
        comment.push(line.replace(/^\* ?/, ''));
      }
      continue;
    }
    if (line === '/**') {
      comment = [];
      continue;
    }
    if (!inClass && line.startsWith('export declare class ')) {
      description = pending;
      inClass = true;
    } else if (inClass) {
      const field = fieldLine.exec(line);
      if (field) fields.set(field[1]!, { description: pending, optional: field[2] === '?' });
      else if (line.startsWith('static ')) break;
    }
    pending = undefined;
  }
  return { description, fields };
}

/** The generator backslash-escapes quotes and backslashes inside comments; this undoes one level. */
function unescapeDoc(text: string): string | undefined {
  const trimmed = text.trim().replace(/\\(.)/g, '$1');
  return trimmed === '' ? undefined : trimmed;
}
