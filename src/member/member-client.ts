/**
 * MemberClient is how the hub reaches one member cluster: its objects through the same
 * ObjectClient every controller uses, plus what the hub needs to know about the cluster itself
 * (its version, whether it is ready, which kinds it serves). Two implementations: over HTTPS to
 * any Kubernetes API server given a kubeconfig (`KubeMemberClient`), and straight to a simulated
 * cluster's registry in the same process (`InProcessMemberClient`), for simulations too large to
 * spend a socket per member.
 *
 * Errors from `objects` are StatusErrors, as ObjectClient promises. A member that cannot be
 * reached at all is a `MemberUnreachableError`, which names the member and its server.
 */
import type { ObjectClient, ResourceRef } from '../client/index.ts';

/** What a member's `/version` says; `platform` is absent when the server does not tell. */
export interface MemberVersion {
  /** `v1.32.3`, as the server reports it. */
  gitVersion: string;
  major: string;
  minor: string;
  platform?: string;
}

export interface MemberClient {
  /** The member's name, as the fleet knows it. */
  readonly name: string;
  /** Reads, writes and watches any resource the member serves. */
  readonly objects: ObjectClient;
  /** The member's Kubernetes version (GET /version). */
  version(): Promise<MemberVersion>;
  /**
   * Whether the member answers /readyz with success within a short timeout. Never rejects: any
   * failure (unreachable, refused, not ready, too slow, closed) is `false`.
   */
  healthy(): Promise<boolean>;
  /**
   * The resource types the member serves, from its discovery documents: every served version of
   * every group, without subresources, sorted by group, version and plural.
   */
  discover(): Promise<ResourceRef[]>;
  /**
   * Stops the watches opened through this client and releases its connections. Idempotent;
   * calls made afterwards are rejected. It never stops the member itself.
   */
  close(): Promise<void>;
}

/**
 * A member cluster could not be reached: the connection was refused or reset, TLS failed, or no
 * answer came in time. `server` is the URL that was tried; `cause` the underlying error.
 */
export class MemberUnreachableError extends Error {
  readonly member: string;
  readonly server: string;

  constructor(member: string, server: string, detail: string, options?: { cause?: unknown }) {
    super(`cannot reach member cluster ${JSON.stringify(member)} at ${server}: ${detail}`, options);
    this.name = 'MemberUnreachableError';
    this.member = member;
    this.server = server;
  }
}

/** The rejection for any call on a member client after `close()`. */
export class MemberClientClosedError extends Error {
  readonly member: string;

  constructor(member: string) {
    super(`the client for member cluster ${JSON.stringify(member)} is closed`);
    this.name = 'MemberClientClosedError';
    this.member = member;
  }
}

/**
 * The served resource of `kind` in `apiVersion` (`v1`, `apps/v1`), or undefined when the member
 * does not serve it: how the hub decides whether an object can go to a member at all.
 */
export function findResource(resources: readonly ResourceRef[], apiVersion: string, kind: string): ResourceRef | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return resources.find((r) => r.group === group && r.version === version && r.kind === kind);
}

/** Version fields from a `gitVersion` such as `v1.32.0-nephele.0`, for servers that only know that. */
export function versionFromGitVersion(gitVersion: string, platform?: string): MemberVersion {
  const match = /^v(\d+)\.(\d+)/.exec(gitVersion);
  if (!match) throw new Error(`${JSON.stringify(gitVersion)} is not a Kubernetes version (expected vMAJOR.MINOR.PATCH)`);
  return { gitVersion, major: match[1]!, minor: match[2]!, ...(platform ? { platform } : {}) };
}

/** Discovery order: core group first, then groups, versions and plurals by name. */
export function compareResourceRefs(a: ResourceRef, b: ResourceRef): number {
  if (a.group !== b.group) return a.group === '' ? -1 : b.group === '' ? 1 : a.group.localeCompare(b.group);
  if (a.version !== b.version) return a.version.localeCompare(b.version);
  return a.plural.localeCompare(b.plural);
}
