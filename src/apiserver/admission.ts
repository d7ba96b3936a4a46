/**
 * The admission chain: mutating plugins run first (in registration order) and may change the
 * object; schema validation runs next (in the registry); validating plugins run last and may only
 * accept or reject by throwing a StatusError. Later features (quotas, policies, right-sizing
 * webhooks) plug in here without touching the request path.
 */
import type { KubeObject } from '../machinery/object.ts';
import type { ResourceType } from '../api/resource-type.ts';

export interface UserInfo {
  username: string;
  groups: string[];
}

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface AdmissionRequest {
  operation: AdmissionOperation;
  type: ResourceType;
  namespace: string | undefined;
  name: string;
  subresource: string | undefined;
  /** The object as it will be written. Mutating plugins change it in place. Undefined for DELETE. */
  object: KubeObject | undefined;
  /** The stored object before the change. Undefined for CREATE. */
  oldObject: KubeObject | undefined;
  user: UserInfo;
  dryRun: boolean;
}

export interface MutatingAdmissionPlugin {
  name: string;
  admit(request: AdmissionRequest): void | Promise<void>;
}

export interface ValidatingAdmissionPlugin {
  name: string;
  validate(request: AdmissionRequest): void | Promise<void>;
}

export class AdmissionChain {
  readonly mutating: MutatingAdmissionPlugin[] = [];
  readonly validating: ValidatingAdmissionPlugin[] = [];

  addMutating(plugin: MutatingAdmissionPlugin): void {
    this.mutating.push(plugin);
  }

  addValidating(plugin: ValidatingAdmissionPlugin): void {
    this.validating.push(plugin);
  }

  async mutate(request: AdmissionRequest): Promise<void> {
    for (const plugin of this.mutating) await plugin.admit(request);
  }

  async validate(request: AdmissionRequest): Promise<void> {
    for (const plugin of this.validating) await plugin.validate(request);
  }
}
