/**
 * Status is what every placement plugin and step returns: an outcome code, a short reason that
 * reads well after a count ("3 cluster(s) NotReady"), an optional detail for one cluster's
 * explanation, and the plugin that said so. Outcomes are values, not exceptions, so one decision
 * gathers every cluster's verdict and explains itself. `Status.success` is shared: passing
 * clusters allocate nothing.
 */
export type PlacementCode = 'Success' | 'Unschedulable' | 'Error' | 'Skip';

export class Status {
  readonly code: PlacementCode;
  /** Short and the same for every cluster rejected for the same cause, so it can be counted. */
  readonly reason: string;
  /** The cause for this cluster (names, values); the reason when absent. */
  readonly detail: string | undefined;
  /** The plugin that returned this status; set by the framework when it is not already set. */
  plugin: string | undefined;

  constructor(code: PlacementCode, reason = '', detail?: string, plugin?: string) {
    this.code = code;
    this.reason = reason;
    this.detail = detail;
    this.plugin = plugin;
  }

  /** The one shared Success; never mutate it. */
  static readonly success = Object.freeze(new Status('Success')) as Status;
  /** The one shared Skip: a PreFilter or PreScore plugin has nothing to do in this decision. */
  static readonly skip = Object.freeze(new Status('Skip')) as Status;

  /** The cluster (or the decision) cannot take the resource; `reason` is counted, `detail` explains. */
  static unschedulable(reason: string, detail?: string): Status {
    return new Status('Unschedulable', reason, detail);
  }

  /** The input is wrong or a plugin failed: no placement is possible until someone fixes it. */
  static error(message: string): Status {
    return new Status('Error', message);
  }

  isSuccess(): boolean {
    return this.code === 'Success';
  }

  isSkip(): boolean {
    return this.code === 'Skip';
  }

  /** The detail when there is one, else the reason. */
  message(): string {
    return this.detail ?? this.reason;
  }

  toString(): string {
    const text = this.message();
    return `${this.code}${this.plugin ? ` (${this.plugin})` : ''}${text ? `: ${text}` : ''}`;
  }
}
