/**
 * Status is what every plugin returns: an outcome code, the reasons behind it and the plugin
 * that said so. Outcomes are values, not exceptions, so a cycle can gather every node's verdict
 * and explain an unschedulable pod. `Status.success` is shared, so passing nodes allocate nothing.
 */
export type Code = 'Success' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Error' | 'Skip' | 'Wait';

export class Status {
  readonly code: Code;
  readonly reasons: readonly string[];
  /** The plugin that returned this status; set by the framework when it is not already set. */
  plugin: string | undefined;

  constructor(code: Code, reasons: readonly string[] = [], plugin?: string) {
    this.code = code;
    this.reasons = reasons;
    this.plugin = plugin;
  }

  /** The one shared Success; never mutate it. */
  static readonly success = Object.freeze(new Status('Success')) as Status;
  /** The one shared Skip: a PreFilter or PreScore plugin has nothing to do for this pod. */
  static readonly skip = Object.freeze(new Status('Skip')) as Status;

  static unschedulable(...reasons: string[]): Status {
    return new Status('Unschedulable', reasons);
  }

  /** Unschedulable, and preempting pods on the node would not help. */
  static unresolvable(...reasons: string[]): Status {
    return new Status('UnschedulableAndUnresolvable', reasons);
  }

  static error(reason: string): Status {
    return new Status('Error', [reason]);
  }

  isSuccess(): boolean {
    return this.code === 'Success';
  }

  isSkip(): boolean {
    return this.code === 'Skip';
  }

  /** True for both Unschedulable codes. */
  isRejected(): boolean {
    return this.code === 'Unschedulable' || this.code === 'UnschedulableAndUnresolvable';
  }

  message(): string {
    return this.reasons.join(', ');
  }

  toString(): string {
    return `${this.code}${this.plugin ? ` (${this.plugin})` : ''}${this.reasons.length ? `: ${this.message()}` : ''}`;
  }
}
