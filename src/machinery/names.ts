/**
 * Name and metadata validation with Kubernetes' rules. Each check returns causes (empty when the
 * value is valid) so callers can report every problem at once with its field path.
 */
import type { StatusCause } from './status-error.ts';
import type { ObjectMeta } from './object.ts';
import { isPlainObject } from './object.ts';

const dns1123LabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123SubdomainPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const qualifiedNamePattern = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The longest generated suffix, as Kubernetes adds it: five random characters. */
export const generatedSuffixLength = 5;
const maxAnnotationsBytes = 256 * 1024;

export type NameRule = 'subdomain' | 'label' | 'path-segment';

function invalid(field: string, value: unknown, why: string): StatusCause {
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(value)}: ${why}` };
}

function required(field: string): StatusCause {
  return { reason: 'FieldValueRequired', field, message: 'Required value: name or generateName is required' };
}

export function validateDns1123Subdomain(value: string, field: string): StatusCause[] {
  if (value.length > 253) return [invalid(field, value, 'must be no more than 253 characters')];
  if (!dns1123SubdomainPattern.test(value)) {
    return [invalid(field, value, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')")];
  }
  return [];
}

export function validateDns1123Label(value: string, field: string): StatusCause[] {
  if (value.length > 63) return [invalid(field, value, 'must be no more than 63 characters')];
  if (!dns1123LabelPattern.test(value)) {
    return [invalid(field, value, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc')")];
  }
  return [];
}

function validatePathSegment(value: string, field: string): StatusCause[] {
  if (value === '.' || value === '..' || value.includes('/') || value.includes('%')) {
    return [invalid(field, value, "may not be '.' or '..' and may not contain '/' or '%'")];
  }
  return [];
}

export function validateName(value: string, rule: NameRule, field: string): StatusCause[] {
  if (rule === 'label') return validateDns1123Label(value, field);
  if (rule === 'subdomain') return validateDns1123Subdomain(value, field);
  return validatePathSegment(value, field);
}

/** A qualified name (`prefix/name`) as used by label keys, annotation keys and finalizers. */
export function validateQualifiedName(value: string, field: string): StatusCause[] {
  const slash = value.lastIndexOf('/');
  const prefix = slash >= 0 ? value.slice(0, slash) : undefined;
  const name = slash >= 0 ? value.slice(slash + 1) : value;
  const causes: StatusCause[] = [];
  if (prefix !== undefined) {
    if (prefix === '') causes.push(invalid(field, value, 'prefix part must be non-empty'));
    else causes.push(...validateDns1123Subdomain(prefix, field).map((c) => ({ ...c, message: `${c.message} (prefix part)` })));
  }
  if (name === '' || name.length > 63 || !qualifiedNamePattern.test(name)) {
    causes.push(invalid(field, value, "name part must be no more than 63 characters, consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', 'my.name' or '123-abc')"));
  }
  return causes;
}

export function validateLabels(labels: unknown, field: string): StatusCause[] {
  if (labels === undefined || labels === null) return [];
  if (!isPlainObject(labels)) return [invalid(field, labels, 'must be a map of string keys to string values')];
  const causes: StatusCause[] = [];
  for (const [key, value] of Object.entries(labels)) {
    causes.push(...validateQualifiedName(key, `${field}`));
    if (typeof value !== 'string') {
      causes.push(invalid(`${field}.${key}`, value, 'label values must be strings'));
    } else if (value.length > 63 || !labelValuePattern.test(value)) {
      causes.push(invalid(`${field}.${key}`, value, "a valid label value must be an empty string or consist of at most 63 alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
    }
  }
  return causes;
}

export function validateAnnotations(annotations: unknown, field: string): StatusCause[] {
  if (annotations === undefined || annotations === null) return [];
  if (!isPlainObject(annotations)) return [invalid(field, annotations, 'must be a map of string keys to string values')];
  const causes: StatusCause[] = [];
  let total = 0;
  for (const [key, value] of Object.entries(annotations)) {
    causes.push(...validateQualifiedName(key.toLowerCase(), field));
    if (typeof value !== 'string') causes.push(invalid(`${field}.${key}`, value, 'annotation values must be strings'));
    total += key.length + String(value).length;
  }
  if (total > maxAnnotationsBytes) {
    causes.push({ reason: 'FieldValueTooLong', field, message: `Too long: must have at most ${maxAnnotationsBytes} bytes` });
  }
  return causes;
}

/**
 * Validates the user-settable parts of `metadata`: name or generateName (by the kind's rule),
 * labels, annotations, finalizers and ownerReferences.
 */
export function validateObjectMeta(meta: ObjectMeta, rule: NameRule, namespaced: boolean): StatusCause[] {
  const causes: StatusCause[] = [];
  // generateName is checked even once a name was made from it, as Kubernetes does, so a bad
  // prefix is reported as such and not only as a strange generated name.
  if (typeof meta.generateName === 'string' && meta.generateName !== '') {
    const prefix = meta.generateName;
    // The prefix is checked as if a suffix were added, so a name made from it is always valid.
    const sample = prefix.endsWith('-') || prefix.endsWith('.') ? `${prefix}x` : prefix;
    causes.push(...validateName(sample, rule, 'metadata.generateName').map((c) => ({ ...c, message: (c.message ?? "").replace(JSON.stringify(sample), JSON.stringify(prefix)) })));
  }
  if (meta.name !== undefined && meta.name !== '') {
    causes.push(...validateName(meta.name, rule, 'metadata.name'));
  } else if (!meta.generateName) {
    causes.push(required('metadata.name'));
  }
  if (namespaced && meta.namespace !== undefined && meta.namespace !== '') {
    causes.push(...validateDns1123Label(meta.namespace, 'metadata.namespace'));
  }
  causes.push(...validateLabels(meta.labels, 'metadata.labels'));
  causes.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  if (meta.finalizers !== undefined) {
    if (!Array.isArray(meta.finalizers)) {
      causes.push(invalid('metadata.finalizers', meta.finalizers, 'must be a list of strings'));
    } else {
      meta.finalizers.forEach((f, i) => {
        if (typeof f !== 'string') causes.push(invalid(`metadata.finalizers[${i}]`, f, 'must be a string'));
        else causes.push(...validateQualifiedName(f, `metadata.finalizers[${i}]`));
      });
    }
  }
  if (meta.ownerReferences !== undefined) {
    if (!Array.isArray(meta.ownerReferences)) {
      causes.push(invalid('metadata.ownerReferences', meta.ownerReferences, 'must be a list'));
    } else {
      let controllers = 0;
      meta.ownerReferences.forEach((ref, i) => {
        const field = `metadata.ownerReferences[${i}]`;
        if (!isPlainObject(ref)) {
          causes.push(invalid(field, ref, 'must be an object'));
          return;
        }
        for (const key of ['apiVersion', 'kind', 'name', 'uid'] as const) {
          if (typeof ref[key] !== 'string' || ref[key] === '') {
            causes.push({ reason: 'FieldValueRequired', field: `${field}.${key}`, message: 'Required value' });
          }
        }
        if (ref.controller === true) controllers++;
      });
      if (controllers > 1) causes.push(invalid('metadata.ownerReferences', '', 'Only one reference can have Controller set to true'));
    }
  }
  return causes;
}
