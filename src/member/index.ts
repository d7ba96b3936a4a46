/** How the hub reaches member clusters: one MemberClient interface, over HTTPS or in process. */
export {
  MemberClientClosedError, MemberUnreachableError, compareResourceRefs, findResource, versionFromGitVersion,
  type MemberClient, type MemberVersion,
} from './member-client.ts';
export { KubeMemberClient, type KubeMemberClientOptions } from './kube-client.ts';
export { InProcessMemberClient, type InProcessMember, type InProcessMemberClientOptions } from './in-process.ts';
export { ReadOnlyMemberClient, isReadOnlyMember } from './read-only.ts';
