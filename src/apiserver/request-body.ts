/**
 * Reads and parses request bodies at the edge: a size cap (413 past it), JSON or YAML by
 * Content-Type (415 for anything else), and parse errors as 400s that say where the input broke.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { StatusError } from '../machinery/status-error.ts';
import { decodeKubeProtobuf } from './protobuf.ts';

export const maxBodyBytes = 3 * 1024 * 1024;

/**
 * How deeply objects and arrays may nest in a body. Real objects stay far below it (a CRD's
 * schema is among the deepest); past it the recursive code behind the API (cloning, validation,
 * merging, managed fields) would run out of stack, so a deeper body is refused here as a 400.
 */
export const maxNestingDepth = 256;

export function readBody(req: IncomingMessage, limit = maxBodyBytes): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) {
    req.resume();
    return Promise.reject(new StatusError('RequestEntityTooLarge', `the request body is ${declared} bytes, larger than the ${limit}-byte limit`));
  }
  // Events rather than an async iterator: this runs for every write, and the iterator's
  // promise per chunk is most of what reading a small body costs.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done();
        req.resume();
        reject(new StatusError('RequestEntityTooLarge', `the request body is larger than the ${limit}-byte limit`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const onClose = () => {
      if (req.readableEnded) return;
      done();
      reject(new Error('the client closed the connection before its request body was complete'));
    };
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export function mediaType(req: IncomingMessage): string {
  return String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function parseJson(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (text.trim() === '') throw new StatusError('BadRequest', 'the request body is empty; send a JSON or YAML object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new StatusError('BadRequest', `the request body is not valid JSON: ${why}`);
  }
  if (jsonNestsTooDeep(raw)) throw tooDeep();
  return value;
}

export function parseYamlText(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (text.trim() === '') throw new StatusError('BadRequest', 'the request body is empty; send a JSON or YAML object');
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 100, uniqueKeys: false, prettyErrors: true });
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0]!.replace(/:$/, '') : String(err);
    if ((err as { code?: unknown }).code === 'MULTIPLE_DOCS') {
      throw new StatusError('BadRequest', `the request body holds more than one YAML document (${why.replace(/^.*? (at line )/, '$1')}); send one object per request`);
    }
    throw new StatusError('BadRequest', `the request body is not valid YAML: ${why}`);
  }
  checkYamlNesting(value, 1, new Set());
  return value;
}

const tooDeep = () => new StatusError('BadRequest', `the request body nests objects and arrays more than ${maxNestingDepth} levels deep`);

/**
 * True when valid JSON text nests objects and arrays deeper than `maxNestingDepth`, found by
 * counting brackets outside strings. Every write's body passes here, and a scan of its bytes
 * costs the same whatever the objects look like, where walking the parsed value goes through
 * property enumeration once per object (several times slower on a hub that has seen many shapes).
 */
function jsonNestsTooDeep(raw: Uint8Array): boolean {
  let depth = 0;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!;
    if (byte === 0x22) {
      // Skip the string: its end is the next quote not escaped by a backslash.
      for (i++; i < raw.length && raw[i] !== 0x22; i++) if (raw[i] === 0x5c) i++;
    } else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > maxNestingDepth) return true;
    } else if (byte === 0x7d || byte === 0x5d) {
      depth--;
    }
  }
  return false;
}

/**
 * Refuses YAML nested deeper than `maxNestingDepth`, or whose alias sits inside its own anchor
 * (`a: &x [*x]` parses to a value that contains itself, which no JSON object can be). Recursion
 * is safe here: it stops at the depth limit.
 */
function checkYamlNesting(value: unknown, depth: number, enclosing: Set<object>): void {
  if (typeof value !== 'object' || value === null) return;
  if (enclosing.has(value)) throw new StatusError('BadRequest', 'the request body contains itself (a YAML alias inside its own anchor); objects must be trees');
  if (depth > maxNestingDepth) throw tooDeep();
  enclosing.add(value);
  for (const key in value) checkYamlNesting((value as Record<string, unknown>)[key], depth + 1, enclosing);
  enclosing.delete(value);
}

/** Parses an object body (create, update) sent as JSON or YAML. */
export function parseObjectBody(req: IncomingMessage, raw: Buffer): unknown {
  const type = mediaType(req);
  if (type === '' || type === 'application/json') return parseJson(raw);
  if (type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml') return parseYamlText(raw);
  if (type === 'application/vnd.kubernetes.protobuf') return decodeKubeProtobuf(raw);
  throw new StatusError('UnsupportedMediaType', `the body's Content-Type "${type}" is not supported; send application/json or application/yaml`);
}
