/**
 * Where a field lives in YAML text: turns an API cause's field path (`spec.resourceSelectors[0].kind`,
 * as Kubernetes Status causes write them) into the 1-based line of that field in the text the
 * user typed, so the editor can show the error beside it. A field that is missing (a required
 * value) maps to its nearest existing parent; an unreadable document to line 1.
 */
import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';

/** Splits `a.b[0].c` into ['a', 'b', 0, 'c']. */
export function fieldSegments(field: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const part of field.split('.')) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The 1-based line of `field` in `text` (or of its nearest parent present there). */
export function lineOfField(text: string, field: string): number {
  const doc = parseDocument(text);
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0] ?? 0;
  const segments = fieldSegments(field);
  let i = 0;
  while (i < segments.length && node) {
    const seg = segments[i]!;
    if (typeof seg === 'number' && isSeq(node)) {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
      i++;
      continue;
    }
    if (!isMap(node)) break;
    // Keys may hold dots (label keys such as nephele.dev/fleet): try the longest key first.
    let matched = false;
    for (let j = segments.length; j > i; j--) {
      if (segments.slice(i, j).some((s) => typeof s === 'number')) continue;
      const key = segments.slice(i, j).join('.');
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (pair) {
        offset = (pair.key as Node).range?.[0] ?? offset;
        node = pair.value;
        i = j;
        matched = true;
        break;
      }
    }
    if (!matched) break;
  }
  return lineAt(text, offset);
}
