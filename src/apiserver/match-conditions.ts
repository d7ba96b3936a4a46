/**
 * Admission webhooks' `matchConditions`: CEL expressions that must all be true for a webhook to
 * be called, as kube-apiserver evaluates them. The variables are `object` and `oldObject` (null
 * when absent) and `request` (the AdmissionReview request's attributes: kind, resource,
 * operation, userInfo, name, namespace, dryRun, options). `authorizer` is not available here: an
 * expression that uses it fails to evaluate.
 *
 * Outcome, as upstream: any condition false skips the webhook (a false wins over errors); else any
 * error is a failed call for the webhook's failurePolicy; else the webhook is called.
 * Expressions are compiled once per configuration version; one that does not compile is refused
 * when the configuration is written.
 */
import { parse, type ParseResult } from '@marcbachmann/cel-js';
import { isPlainObject, type KubeObject } from '../machinery/object.ts';
import type { StatusCause } from '../machinery/status-error.ts';

export interface MatchCondition {
  name: string;
  expression: string;
  /** The compiled expression, or why it does not compile. */
  program: ParseResult | { error: string };
}

/** Upstream's limit on conditions per webhook. */
export const maxMatchConditions = 64;

export function compileMatchConditions(raw: unknown): MatchCondition[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter(isPlainObject).map((entry) => {
    const expression = typeof entry.expression === 'string' ? entry.expression : '';
    let program: MatchCondition['program'];
    try {
      program = parse(expression);
    } catch (err) {
      program = { error: firstLine(err) };
    }
    return { name: typeof entry.name === 'string' ? entry.name : '', expression, program };
  });
}

export type MatchOutcome =
  | { result: 'call' }
  | { result: 'skip'; condition: string }
  | { result: 'error'; condition: string; message: string };

export function evaluateMatchConditions(conditions: readonly MatchCondition[], variables: { object: unknown; oldObject: unknown; request: unknown }): MatchOutcome {
  let failure: MatchOutcome | undefined;
  for (const condition of conditions) {
    const { program } = condition;
    if (!('ast' in program)) {
      failure ??= { result: 'error', condition: condition.name, message: `compilation failed: ${program.error}` };
      continue;
    }
    let value: unknown;
    try {
      value = program(variables);
    } catch (err) {
      failure ??= { result: 'error', condition: condition.name, message: firstLine(err) };
      continue;
    }
    if (value === false) return { result: 'skip', condition: condition.name };
    if (value !== true) failure ??= { result: 'error', condition: condition.name, message: `the expression gave ${typeof value}, not a bool` };
  }
  return failure ?? { result: 'call' };
}

/** What is wrong with a webhook configuration's matchConditions, as field causes for a 422. */
export function matchConditionProblems(configuration: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const hooks = Array.isArray(configuration.webhooks) ? configuration.webhooks : [];
  hooks.forEach((hook, i) => {
    if (!isPlainObject(hook) || hook.matchConditions === undefined || hook.matchConditions === null) return;
    const field = `webhooks[${i}].matchConditions`;
    const raw = hook.matchConditions;
    if (!Array.isArray(raw)) return;
    if (raw.length > maxMatchConditions) causes.push({ reason: 'FieldValueTooMany', field, message: `must have at most ${maxMatchConditions} items` });
    const names = new Set<string>();
    compileMatchConditions(raw).forEach((condition, j) => {
      if (condition.name === '') causes.push({ reason: 'FieldValueRequired', field: `${field}[${j}].name`, message: 'Required value' });
      else if (names.has(condition.name)) causes.push({ reason: 'FieldValueDuplicate', field: `${field}[${j}].name`, message: `Duplicate value: ${JSON.stringify(condition.name)}` });
      names.add(condition.name);
      if (condition.expression.trim() === '') causes.push({ reason: 'FieldValueRequired', field: `${field}[${j}].expression`, message: 'Required value' });
      else if (!('ast' in condition.program)) causes.push({ reason: 'FieldValueInvalid', field: `${field}[${j}].expression`, message: `Invalid value: ${JSON.stringify(condition.expression)}: compilation failed: ${condition.program.error}` });
    });
  });
  return causes;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
