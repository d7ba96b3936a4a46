/**
 * The hub's security plumbing: serving certificates, bearer tokens, encryption of Secret data
 * at rest, the audit log, and the kubeconfig that ties a client to the hub. Everything here
 * keeps its state in files under the hub's home directory.
 */
export {
  alwaysServedHosts,
  createCertificateSet,
  ensureServingCertificates,
  installCertificateSet,
  type CertificateSet,
  type ServingCertificateOptions,
  type ServingCertificates,
} from './tls.ts';
export {
  addBootstrapToken,
  addToken,
  adminGroup,
  bootstrapGroup,
  bootstrapTokenPattern,
  boundCluster,
  clusterBoundGroup,
  adminUser,
  authenticateOrReject,
  ensureAdminToken,
  listBootstrapTokens,
  loadTokens,
  removeBootstrapToken,
  tokenAuthenticator,
  type AuthenticatedUser,
  type BootstrapTokenInfo,
  type TokenAuthenticator,
  type TokenEntry,
} from './tokens.ts';
export { loadOrCreateKey, openSecretData, sealSecretData, sealedPrefix, type SecretBoxKey } from './secret-box.ts';
export {
  canonicalJson,
  genesisHash,
  openAuditLog,
  verifyAuditLog,
  type AuditLog,
  type AuditLogOptions,
  type AuditProblem,
  type AuditRecord,
  type AuditVerification,
} from './audit-log.ts';
export { bootstrapAdmission, hubAuthorizer } from './authorization.ts';
export { renderKubeconfig, writeKubeconfig, type KubeconfigParams } from './kubeconfig.ts';
export type { WriteOptions } from './private-file.ts';
