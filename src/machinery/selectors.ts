/**
 * Label and field selectors in the syntax of Kubernetes' `labelSelector` and `fieldSelector`
 * query parameters, parsed once at the edge into predicates. A parse error is a 400 StatusError
 * whose message points at the offending part.
 */
import { StatusError } from './status-error.ts';
import { isPlainObject } from './object.ts';

export type LabelOperator = 'Exists' | 'DoesNotExist' | 'Equals' | 'NotEquals' | 'In' | 'NotIn' | 'GreaterThan' | 'LessThan';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

/** A parsed label selector: every requirement must hold (an empty selector matches everything). */
export interface LabelSelector {
  requirements: LabelRequirement[];
  matches(labels: Record<string, string> | undefined): boolean;
  toString(): string;
}

export interface FieldRequirement {
  field: string;
  operator: 'Equals' | 'NotEquals';
  value: string;
}

export interface FieldSelector {
  requirements: FieldRequirement[];
  /** True when every requirement holds for the field values `fieldsOf` reads off an object. */
  matches(fields: Record<string, string | undefined>): boolean;
  toString(): string;
}

const labelKeyPattern = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function invalidSelector(param: string, selector: string, why: string): StatusError {
  return new StatusError('BadRequest', `unable to parse requirement: invalid ${param} "${selector}": ${why}`);
}

function checkKey(key: string, selector: string): void {
  if (!labelKeyPattern.test(key) || key.length > 316) {
    throw invalidSelector('labelSelector', selector, `key "${key}" must be a qualified name: an optional DNS prefix and '/', then at most 63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character`);
  }
}

function checkValue(value: string, selector: string): void {
  if (value.length > 63 || !labelValuePattern.test(value)) {
    throw invalidSelector('labelSelector', selector, `value "${value}" must be at most 63 characters: alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric character`);
  }
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  terms.push(current);
  return terms.map((t) => t.trim());
}

function matchLabel(req: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.operator) {
    case 'Exists': return has;
    case 'DoesNotExist': return !has;
    case 'Equals': return has && value === req.values[0];
    case 'In': return has && req.values.includes(value!);
    case 'NotEquals': return !has || value !== req.values[0];
    case 'NotIn': return !has || !req.values.includes(value!);
    case 'GreaterThan': return has && Number(value) > Number(req.values[0]);
    case 'LessThan': return has && Number(value) < Number(req.values[0]);
  }
}

function renderRequirement(r: LabelRequirement): string {
  switch (r.operator) {
    case 'Exists': return r.key;
    case 'DoesNotExist': return `!${r.key}`;
    case 'Equals': return `${r.key}=${r.values[0]}`;
    case 'NotEquals': return `${r.key}!=${r.values[0]}`;
    case 'In': return `${r.key} in (${r.values.join(',')})`;
    case 'NotIn': return `${r.key} notin (${r.values.join(',')})`;
    case 'GreaterThan': return `${r.key}>${r.values[0]}`;
    case 'LessThan': return `${r.key}<${r.values[0]}`;
  }
}

export function labelSelectorFromRequirements(requirements: LabelRequirement[]): LabelSelector {
  return {
    requirements,
    matches(labels) {
      const present = labels ?? {};
      return requirements.every((r) => matchLabel(r, present));
    },
    toString() {
      return requirements.map(renderRequirement).join(',');
    },
  };
}

/** Parses `app=web,tier in (a,b),!legacy`. An empty or missing string selects everything. */
export function parseLabelSelector(selector: string | undefined): LabelSelector {
  const requirements: LabelRequirement[] = [];
  const text = (selector ?? '').trim();
  if (text !== '') {
    for (const term of splitTerms(text)) {
      if (term === '') throw invalidSelector('labelSelector', text, 'empty requirement');
      const setMatch = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
      if (setMatch) {
        const [, key, op, list] = setMatch as unknown as [string, string, string, string];
        checkKey(key, text);
        const values = list.split(',').map((v) => v.trim());
        if (values.length === 1 && values[0] === '' ) throw invalidSelector('labelSelector', text, `"${op}" needs at least one value`);
        values.forEach((v) => checkValue(v, text));
        requirements.push({ key, operator: op === 'in' ? 'In' : 'NotIn', values });
        continue;
      }
      const opMatch = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/.exec(term);
      if (opMatch) {
        const [, key, op, value] = opMatch as unknown as [string, string, string, string];
        checkKey(key, text);
        const operator: LabelOperator = op === '!=' ? 'NotEquals' : op === '>' ? 'GreaterThan' : op === '<' ? 'LessThan' : 'Equals';
        if (operator === 'GreaterThan' || operator === 'LessThan') {
          if (!/^-?\d+$/.test(value)) throw invalidSelector('labelSelector', text, `"${op}" needs an integer value, got "${value}"`);
        } else {
          checkValue(value, text);
        }
        requirements.push({ key, operator, values: [value] });
        continue;
      }
      if (term.startsWith('!')) {
        const key = term.slice(1).trim();
        checkKey(key, text);
        requirements.push({ key, operator: 'DoesNotExist', values: [] });
        continue;
      }
      checkKey(term, text);
      requirements.push({ key: term, operator: 'Exists', values: [] });
    }
  }
  return labelSelectorFromRequirements(requirements);
}

/** The metav1.LabelSelector object form (`matchLabels`, `matchExpressions`) as a predicate. */
export function labelSelectorFromObject(selector: unknown): LabelSelector {
  const requirements: LabelRequirement[] = [];
  if (isPlainObject(selector)) {
    const matchLabels = isPlainObject(selector.matchLabels) ? selector.matchLabels : {};
    for (const [key, value] of Object.entries(matchLabels)) {
      requirements.push({ key, operator: 'Equals', values: [String(value)] });
    }
    const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
    for (const expr of expressions) {
      if (!isPlainObject(expr)) continue;
      const op = String(expr.operator);
      const values = Array.isArray(expr.values) ? expr.values.map(String) : [];
      const operator: LabelOperator = op === 'In' ? 'In' : op === 'NotIn' ? 'NotIn' : op === 'Exists' ? 'Exists' : 'DoesNotExist';
      requirements.push({ key: String(expr.key), operator, values });
    }
  }
  return labelSelectorFromRequirements(requirements);
}

/**
 * Parses `metadata.name=web,status.phase!=Running`. `supported` lists the field labels the kind
 * allows; any other field is a 400, as in Kubernetes.
 */
export function parseFieldSelector(selector: string | undefined, supported: readonly string[]): FieldSelector {
  const requirements: FieldRequirement[] = [];
  const text = (selector ?? '').trim();
  if (text !== '') {
    for (const term of text.split(',').map((t) => t.trim())) {
      const match = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
      if (!match) {
        throw new StatusError('BadRequest', `invalid fieldSelector "${text}": "${term}" is not of the form field=value, field==value or field!=value`);
      }
      const [, field, op, value] = match as unknown as [string, string, string, string];
      if (!supported.includes(field)) {
        throw new StatusError('BadRequest', `field label not supported: ${field} (supported: ${supported.join(', ')})`);
      }
      requirements.push({ field, operator: op === '!=' ? 'NotEquals' : 'Equals', value });
    }
  }
  return {
    requirements,
    matches(fields) {
      return requirements.every((r) => {
        const actual = fields[r.field] ?? '';
        return r.operator === 'Equals' ? actual === r.value : actual !== r.value;
      });
    },
    toString() {
      return requirements.map((r) => `${r.field}${r.operator === 'Equals' ? '=' : '!='}${r.value}`).join(',');
    },
  };
}
