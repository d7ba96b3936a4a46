/**
 * Static bearer tokens, the hub's first way to know who is calling. They live in
 * `home/tokens.json` (mode 0600), as Kubernetes' static token file does, but in JSON:
 *
 *     { "tokens": [ { "token": "…", "user": "admin", "groups": ["system:masters"] } ] }
 *
 * Tokens are stored in the clear because the hub hands the admin token to `kubeconfig`; the file
 * mode is what protects them. In memory only their SHA-256 digests are kept.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StatusError } from '../../machinery/status-error.ts';
import { privateMode, readFileIfExists, writeFileAtomically, type WriteOptions } from './private-file.ts';

/** Who a request comes from, as authentication established it. */
export interface AuthenticatedUser {
  user: string;
  /** The user's groups, always ending with `system:authenticated`, as Kubernetes does. */
  groups: string[];
}

export interface TokenAuthenticator {
  /**
   * The user a request's `Authorization` header names, or undefined when the header is absent,
   * is not `Bearer <token>`, or carries a token nobody holds. Runs in time that does not depend
   * on how much of a token matched.
   */
  authenticate(authorizationHeader: string | undefined): AuthenticatedUser | undefined;
}

/** One entry of tokens.json. */
export interface TokenEntry {
  token: string;
  user: string;
  groups: string[];
}

export const adminUser = 'admin';
export const adminGroup = 'system:masters';
const authenticatedGroup = 'system:authenticated';

function tokensPath(home: string): string {
  return join(home, 'tokens.json');
}

/** A new bearer token: 32 random bytes, base64url without padding (43 characters). */
function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Returns the admin's bearer token, first adding one for user `admin` in group `system:masters`
 * to `home/tokens.json` (creating it, mode 0600) when no such entry exists. Idempotent.
 */
export async function ensureAdminToken(home: string, options: WriteOptions = {}): Promise<string> {
  const entries = await readTokenEntries(home);
  const existing = entries.find((e) => e.user === adminUser && e.groups.includes(adminGroup));
  if (existing) return existing.token;
  return addToken(home, adminUser, [adminGroup], options);
}

/**
 * Adds a new token for `user` with `groups` to `home/tokens.json` and returns it. Existing
 * tokens are kept, including other tokens of the same user. Authenticators loaded before the
 * call do not know the new token; load a new one.
 */
export async function addToken(home: string, user: string, groups: string[], options: WriteOptions = {}): Promise<string> {
  const entry: TokenEntry = { token: newToken(), user, groups: [...groups] };
  validateEntry(entry, 'the new token');
  const entries = await readTokenEntries(home);
  writeTokenEntries(home, [...entries, entry], options);
  return entry.token;
}

/**
 * An authenticator for the tokens in `home/tokens.json` as they are now. A missing file means no
 * tokens: every request is unauthenticated. A malformed file is an Error naming the problem.
 *
 * With `reload`, the authenticator also follows later changes to the file (a token added by
 * `nephele token create` while the hub runs): it looks at the file's identity and modification
 * time at most every `reload.intervalMs` (default 250 ms) and re-reads it when they changed. A
 * file that became malformed is ignored, keeping the tokens read last.
 */
export async function loadTokens(home: string, options: { reload?: boolean | { intervalMs?: number } } = {}): Promise<TokenAuthenticator> {
  const entries = await readTokenEntries(home);
  if (!options.reload) return tokenAuthenticator(entries);
  const intervalMs = typeof options.reload === 'object' ? options.reload.intervalMs ?? 250 : 250;
  const path = tokensPath(home);
  const stamp = (): string => {
    try {
      const st = statSync(path);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return 'missing';
    }
  };
  let current = tokenAuthenticator(entries);
  let seen = stamp();
  let checkedAt = Date.now();
  return {
    authenticate(header) {
      const now = Date.now();
      if (now - checkedAt >= intervalMs) {
        checkedAt = now;
        const next = stamp();
        if (next !== seen) {
          seen = next;
          try {
            current = tokenAuthenticator(next === 'missing' ? [] : parseTokenEntries(path, readFileSync(path)));
          } catch {
            // Keep the last good tokens: a half-edited file must not lock everyone out.
          }
        }
      }
      return current.authenticate(header);
    },
  };
}

/** The group every bootstrap token's user is in. */
export const bootstrapGroup = 'system:bootstrappers';
/** Bootstrap tokens have Kubernetes' shape: a public id, a dot, and a secret. */
export const bootstrapTokenPattern = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

function randomLowerAlnum(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length * 2);
  let out = '';
  // Rejection sampling keeps every character equally likely (256 is not a multiple of 36).
  for (const b of bytes) {
    if (b < 252) out += alphabet[b % 36];
    if (out.length === length) return out;
  }
  return out + randomLowerAlnum(length - out.length);
}

const clusterBoundGroupPrefix = `${bootstrapGroup}:nephele:cluster:`;

/** The group of a bootstrap token bound to one cluster: its agent may register and serve only that cluster. */
export function clusterBoundGroup(cluster: string): string {
  return `${clusterBoundGroupPrefix}${cluster}`;
}

/** The cluster a bootstrap token's user is bound to, from its groups; undefined when it is not bound. */
export function boundCluster(groups: readonly string[]): string | undefined {
  const group = groups.find((g) => g.startsWith(clusterBoundGroupPrefix));
  return group?.slice(clusterBoundGroupPrefix.length);
}

/**
 * Adds a bootstrap token (`abcdef.0123456789abcdef`, as kubeadm's) to `home/tokens.json` for user
 * `system:bootstrap:ID` in group `system:bootstrappers`, and returns it. A pull agent uses it to
 * register its cluster. The hub lets that user do only what registration and applying Work
 * take (see authorization.ts); with `cluster`, only for the cluster of that name.
 */
export async function addBootstrapToken(home: string, options: { cluster?: string } = {}): Promise<string> {
  const id = randomLowerAlnum(6);
  const token = `${id}.${randomLowerAlnum(16)}`;
  const groups = options.cluster === undefined ? [bootstrapGroup] : [bootstrapGroup, clusterBoundGroup(options.cluster)];
  const entry: TokenEntry = { token, user: `system:bootstrap:${id}`, groups };
  const entries = await readTokenEntries(home);
  if (entries.some((e) => e.token.startsWith(`${id}.`))) return addBootstrapToken(home, options);
  writeTokenEntries(home, [...entries, entry]);
  return token;
}

/** A bootstrap token as `nephele token list` shows it: its public id, never its secret. */
export interface BootstrapTokenInfo {
  id: string;
  user: string;
  /** The cluster the token is bound to; undefined when it may register any. */
  cluster?: string;
}

/** The bootstrap tokens in `home/tokens.json`, in the order they were added. */
export async function listBootstrapTokens(home: string): Promise<BootstrapTokenInfo[]> {
  const entries = await readTokenEntries(home);
  return entries.filter((e) => e.groups.includes(bootstrapGroup) && bootstrapTokenPattern.test(e.token)).map((e) => {
    const cluster = boundCluster(e.groups);
    return { id: e.token.split('.')[0]!, user: e.user, ...(cluster !== undefined ? { cluster } : {}) };
  });
}

/**
 * Removes the bootstrap token with public id `id` (or the whole token) from `home/tokens.json`;
 * a running hub refuses it within a second. Throws when there is no such bootstrap token: other
 * tokens (the admin's) are never removed this way.
 */
export async function removeBootstrapToken(home: string, id: string): Promise<void> {
  const publicId = id.split('.')[0]!;
  const entries = await readTokenEntries(home);
  const kept = entries.filter((e) => !(e.groups.includes(bootstrapGroup) && e.token.startsWith(`${publicId}.`)));
  if (kept.length === entries.length) throw new Error(`no bootstrap token with id ${JSON.stringify(publicId)} in ${tokensPath(home)} (nephele token list shows them)`);
  writeTokenEntries(home, kept);
}

/** An authenticator for the given entries; exported for callers that keep tokens elsewhere. */
export function tokenAuthenticator(entries: readonly TokenEntry[]): TokenAuthenticator {
  const known = entries.map((e) => ({
    digest: digestOf(e.token),
    user: e.user,
    groups: e.groups.includes(authenticatedGroup) ? [...e.groups] : [...e.groups, authenticatedGroup],
  }));

  return {
    authenticate(authorizationHeader) {
      const token = bearerToken(authorizationHeader);
      if (token === undefined) return undefined;
      // Compare digests, not tokens: equal lengths for timingSafeEqual whatever was sent, and
      // every entry is compared so the time taken does not reveal which one matched.
      const digest = digestOf(token);
      let match: (typeof known)[number] | undefined;
      for (const entry of known) {
        if (timingSafeEqual(digest, entry.digest) && match === undefined) match = entry;
      }
      return match && { user: match.user, groups: [...match.groups] };
    },
  };
}

/**
 * The user behind an `Authorization` header, or an Unauthorized StatusError (401) for the
 * client. For handlers that admit no anonymous requests.
 */
export function authenticateOrReject(authenticator: TokenAuthenticator, authorizationHeader: string | undefined): AuthenticatedUser {
  const user = authenticator.authenticate(authorizationHeader);
  if (!user) throw new StatusError('Unauthorized', 'Unauthorized');
  return user;
}

/** The token of a `Bearer <token>` header (scheme case-insensitive), or undefined. */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function digestOf(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** Replaces `home/tokens.json` (mode 0600) with `entries`, atomically; a running hub reloads it. */
function writeTokenEntries(home: string, entries: readonly TokenEntry[], options: WriteOptions = {}): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileAtomically(tokensPath(home), JSON.stringify({ tokens: entries }, null, 2) + '\n', privateMode, options);
}

async function readTokenEntries(home: string): Promise<TokenEntry[]> {
  const path = tokensPath(home);
  const bytes = await readFileIfExists(path);
  if (bytes === undefined) return [];
  return parseTokenEntries(path, bytes);
}

function parseTokenEntries(path: string, bytes: Buffer): TokenEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { tokens?: unknown }).tokens)) {
    throw new Error(`${path} must hold an object with a "tokens" array`);
  }
  const entries = (parsed as { tokens: unknown[] }).tokens.map((raw, i) => {
    const where = `${path}: tokens[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new Error(`${where} is not an object`);
    const { token, user, groups } = raw as Record<string, unknown>;
    const entry = { token, user, groups } as TokenEntry;
    validateEntry(entry, where);
    return { token: entry.token, user: entry.user, groups: [...entry.groups] };
  });
  const seen = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    if (seen.has(entry.token)) throw new Error(`${path}: tokens[${i}] repeats an earlier token`);
    seen.add(entry.token);
  }
  return entries;
}

function validateEntry(entry: TokenEntry, where: string): void {
  if (typeof entry.token !== 'string' || !/^\S+$/.test(entry.token)) {
    throw new Error(`${where}: token must be a non-empty string without whitespace`);
  }
  if (typeof entry.user !== 'string' || entry.user.trim() === '' || entry.user !== entry.user.trim()) {
    throw new Error(`${where}: user must be a non-empty string without surrounding whitespace`);
  }
  if (!Array.isArray(entry.groups) || !entry.groups.every((g) => typeof g === 'string' && g.trim() !== '')) {
    throw new Error(`${where}: groups must be an array of non-empty strings`);
  }
}
