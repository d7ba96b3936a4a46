/**
 * The hub's serving certificates: a private certificate authority made once per home directory,
 * and a serving certificate it signs for the names the hub answers on. Both live in `home/pki/`
 * as PEM files (`ca.crt`, `ca.key`, `server.crt`, `server.key`); keys are PKCS#8 with mode 0600.
 *
 * The certificates are shaped for Go's crypto/x509 (kubectl, client-go) as much as for Node:
 * ECDSA P-256 keys, ECDSA-with-SHA-256 signatures, positive 127-bit serial numbers, and every
 * name in subjectAltName (Go ignores the subject common name).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate as NodeX509Certificate, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { privateMode, publicMode, readFileIfExists, writeFileAtomically, type WriteOptions } from './private-file.ts';

export interface ServingCertificates {
  /** The authority clients trust (kubeconfig `certificate-authority-data`). */
  caPem: string;
  /** The serving certificate, for `tls.createServer({ cert })`. */
  certPem: string;
  /** The serving certificate's private key (PKCS#8 PEM), for `tls.createServer({ key })`. */
  keyPem: string;
}

export interface ServingCertificateOptions {
  /** The clock; tests move it to exercise renewal. Defaults to the system clock. */
  now?: () => Date;
}

/** Names every serving certificate carries, whatever the caller asks for. */
export const alwaysServedHosts: readonly string[] = ['localhost', '127.0.0.1', '::1'];

const day = 24 * 60 * 60 * 1000;
const authorityLifetime = 3650 * day;
const servingLifetime = 365 * day;
/** A serving certificate this close to expiry is re-issued. */
const renewBefore = 30 * day;
/** Certificates are back-dated so a client whose clock runs a little behind still accepts them. */
const backdate = 60 * 60 * 1000;

const keyAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' } as const;

const authorityName = 'CN=nephele-ca, O=nephele';
const servingName = 'CN=nephele-hub, O=nephele';

/** A subjectAltName entry in the form used to compare names: DNS lower-cased, IPs canonical. */
interface SubjectAltName {
  type: 'dns' | 'ip';
  value: string;
}

interface Authority {
  certificate: NodeX509Certificate;
  /** The same certificate parsed by @peculiar/x509, whose encoded subject becomes the issuer. */
  issuerName: x509.Name;
  certPem: string;
  signingKey: CryptoKey;
  publicKey: CryptoKey;
}

/**
 * Returns the hub's CA and serving certificate, creating or renewing them as needed. Idempotent:
 * a call whose hosts the current serving certificate already covers, and which finds it valid
 * for more than 30 days, changes nothing. Otherwise the serving certificate is re-issued by the
 * same CA for exactly `hosts` plus `alwaysServedHosts`; a CA is only ever created when neither
 * `ca.crt` nor `ca.key` exists, since clients may already trust the old one.
 *
 * Throws when `hosts` holds something that is neither a DNS name nor an IP address, when only
 * one half of the CA exists or its halves do not match, and when the CA has expired (remove
 * `home/pki/` to start over; clients must then trust the new CA).
 *
 * Not safe against two processes sharing one home at the same moment.
 */
export async function ensureServingCertificates(
  home: string,
  hosts: string[],
  options: ServingCertificateOptions = {},
): Promise<ServingCertificates> {
  const now = options.now?.() ?? new Date();
  const names = subjectAltNames([...alwaysServedHosts, ...hosts]);
  const dir = join(home, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  const authority = await loadOrCreateAuthority(dir, now);

  const certPem = (await readFileIfExists(join(dir, 'server.crt')))?.toString('utf8');
  const keyPem = (await readFileIfExists(join(dir, 'server.key')))?.toString('utf8');
  if (certPem !== undefined && keyPem !== undefined && servingCertificateFits(certPem, keyPem, authority, names, now)) {
    return { caPem: authority.certPem, certPem, keyPem };
  }

  const issued = await issueServingCertificate(authority, names, now);
  // Key first: a crash between the two writes leaves a pair that does not match, which the next
  // call notices and repairs, instead of a new certificate beside a stale key.
  writeFileAtomically(join(dir, 'server.key'), issued.keyPem, privateMode);
  writeFileAtomically(join(dir, 'server.crt'), issued.certPem, publicMode);
  return { caPem: authority.certPem, ...issued };
}

/** A certificate authority with its key, and a serving certificate it signed, held in memory. */
export interface CertificateSet extends ServingCertificates {
  /** The authority's private key (PKCS#8 PEM). */
  caKeyPem: string;
}

/**
 * Creates a new CA and a serving certificate it signs for `hosts` plus `alwaysServedHosts`, in
 * memory only. Several scratch homes may share one set (simulated members of one process do,
 * since making keys is the larger part of starting one); a hub's own home never should, which is
 * why `ensureServingCertificates` makes a CA per home. Throws as `ensureServingCertificates` does
 * for a host that is neither a DNS name nor an IP address.
 */
export async function createCertificateSet(
  hosts: string[],
  options: ServingCertificateOptions & { clientAuth?: boolean } = {},
): Promise<CertificateSet> {
  const now = options.now?.() ?? new Date();
  const names = subjectAltNames([...alwaysServedHosts, ...hosts]);
  const created = await createAuthority(now);
  // With clientAuth the same certificate can also identify its holder as a TLS client (a peer
  // that both serves and calls, or a test standing for both ends).
  const usages = options.clientAuth ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.serverAuth];
  const issued = await issueServingCertificate(created.authority, names, now, usages);
  return { caPem: created.certPem, caKeyPem: created.keyPem, ...issued };
}

/**
 * Writes `set` into `home/pki/` as `ensureServingCertificates` would have left it (so a later
 * `ensureServingCertificates` on the same home keeps it), replacing what was there, and returns
 * the certificates to serve with.
 */
export function installCertificateSet(home: string, set: CertificateSet, options: WriteOptions = {}): ServingCertificates {
  const dir = join(home, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomically(join(dir, 'ca.key'), set.caKeyPem, privateMode, options);
  writeFileAtomically(join(dir, 'ca.crt'), set.caPem, publicMode, options);
  writeFileAtomically(join(dir, 'server.key'), set.keyPem, privateMode, options);
  writeFileAtomically(join(dir, 'server.crt'), set.certPem, publicMode, options);
  return { caPem: set.caPem, certPem: set.certPem, keyPem: set.keyPem };
}

/** Parses the requested hosts into de-duplicated subjectAltName entries, DNS names first. */
function subjectAltNames(hosts: string[]): SubjectAltName[] {
  const dns = new Set<string>();
  const ips = new Set<string>();
  for (const raw of hosts) {
    const host = raw.trim().replace(/^\[(.*)\]$/, '$1');
    if (isIP(host) !== 0) {
      ips.add(canonicalIp(host));
    } else if (/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(host) && host.length <= 253) {
      dns.add(host.toLowerCase().replace(/\.$/, ''));
    } else {
      throw new Error(`serving certificate host ${JSON.stringify(raw)} is neither a DNS name nor an IP address`);
    }
  }
  return [
    ...[...dns].map((value) => ({ type: 'dns' as const, value })),
    ...[...ips].map((value) => ({ type: 'ip' as const, value })),
  ];
}

/** One spelling per address, so `::1` and `0:0:0:0:0:0:0:1` compare equal. */
function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]`).hostname.slice(1, -1) : new URL(`http://${ip}`).hostname;
}

async function loadOrCreateAuthority(dir: string, now: Date): Promise<Authority> {
  const certPath = join(dir, 'ca.crt');
  const keyPath = join(dir, 'ca.key');
  const certPem = (await readFileIfExists(certPath))?.toString('utf8');
  const keyPem = (await readFileIfExists(keyPath))?.toString('utf8');

  if (certPem === undefined && keyPem === undefined) {
    const created = await createAuthority(now);
    writeFileAtomically(keyPath, created.keyPem, privateMode);
    writeFileAtomically(certPath, created.certPem, publicMode);
    return created.authority;
  }
  if (certPem === undefined || keyPem === undefined) {
    throw new Error(`${certPem === undefined ? certPath : keyPath} is missing while its other half exists; restore it, or remove ${dir} to create a new CA`);
  }

  const certificate = new NodeX509Certificate(certPem);
  const privateKey = createPrivateKey(keyPem);
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new Error(`${keyPath} is not the private key of ${certPath}`);
  }
  if (!certificate.ca) {
    throw new Error(`${certPath} is not a CA certificate`);
  }
  if (new Date(certificate.validTo).getTime() <= now.getTime()) {
    throw new Error(`the hub CA in ${certPath} expired on ${certificate.validTo}; remove ${dir} to create a new one`);
  }
  const signingKey = await crypto.subtle.importKey(
    'pkcs8',
    privateKey.export({ type: 'pkcs8', format: 'der' }),
    keyAlgorithm,
    false,
    ['sign'],
  );
  const publicKey = await crypto.subtle.importKey(
    'spki',
    createPublicKey(privateKey).export({ type: 'spki', format: 'der' }),
    keyAlgorithm,
    true,
    ['verify'],
  );
  return { certificate, issuerName: new x509.X509Certificate(certPem).subjectName, certPem, signingKey, publicKey };
}

async function createAuthority(now: Date): Promise<{ authority: Authority; keyPem: string; certPem: string }> {
  const keys = await crypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: positiveSerialNumber(),
    name: authorityName,
    notBefore: new Date(now.getTime() - backdate),
    notAfter: new Date(now.getTime() + authorityLifetime),
    signingAlgorithm,
    keys,
    extensions: [
      // Path length 0: this CA signs the hub's own certificates, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = certificate.toString('pem') + '\n';
  const keyPem = await exportPrivateKey(keys.privateKey);
  return {
    authority: {
      certificate: new NodeX509Certificate(certPem),
      issuerName: certificate.subjectName,
      certPem,
      signingKey: keys.privateKey,
      publicKey: keys.publicKey,
    },
    keyPem,
    certPem,
  };
}

async function issueServingCertificate(
  authority: Authority,
  names: SubjectAltName[],
  now: Date,
  usages: string[] = [x509.ExtendedKeyUsage.serverAuth],
): Promise<{ certPem: string; keyPem: string }> {
  const keys = await crypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify']);
  const notAfter = Math.min(now.getTime() + servingLifetime, new Date(authority.certificate.validTo).getTime());
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: positiveSerialNumber(),
    subject: servingName,
    // The CA's subject exactly as encoded: Go finds a certificate's parent by comparing the raw
    // issuer bytes with the raw subject bytes, so a re-encoded equivalent name would not do.
    issuer: authority.issuerName,
    notBefore: new Date(now.getTime() - backdate),
    notAfter: new Date(notAfter),
    signingAlgorithm,
    publicKey: keys.publicKey,
    signingKey: authority.signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(usages),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(authority.publicKey),
    ],
  });
  return { certPem: certificate.toString('pem') + '\n', keyPem: await exportPrivateKey(keys.privateKey) };
}

/**
 * Whether the stored serving certificate can be kept: it parses, matches its key, was signed by
 * the current CA, is valid now and for more than `renewBefore`, and names every requested host.
 */
function servingCertificateFits(certPem: string, keyPem: string, authority: Authority, wanted: SubjectAltName[], now: Date): boolean {
  let certificate: NodeX509Certificate;
  try {
    certificate = new NodeX509Certificate(certPem);
    if (!certificate.checkPrivateKey(createPrivateKey(keyPem))) return false;
  } catch {
    return false;
  }
  if (!certificate.checkIssued(authority.certificate) || !certificate.verify(authority.certificate.publicKey)) return false;
  if (new Date(certificate.validFrom).getTime() > now.getTime()) return false;
  if (new Date(certificate.validTo).getTime() - now.getTime() <= renewBefore) return false;

  const present = new Set(namesIn(certPem).map((name) => `${name.type}:${name.value}`));
  return wanted.every((name) => present.has(`${name.type}:${name.value}`));
}

function namesIn(certPem: string): SubjectAltName[] {
  const certificate = new x509.X509Certificate(certPem);
  const extension = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  if (!extension) return [];
  const names: SubjectAltName[] = [];
  for (const name of extension.names.toJSON()) {
    if (name.type === 'dns') names.push({ type: 'dns', value: name.value.toLowerCase() });
    else if (name.type === 'ip' && isIP(name.value) !== 0) names.push({ type: 'ip', value: canonicalIp(name.value) });
  }
  return names;
}

/**
 * 16 random bytes with the top bit clear: DER encodes them as a positive INTEGER of at most 16
 * octets, which Go requires (it rejects negative serials) and RFC 5280 allows (at most 20).
 */
function positiveSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

async function exportPrivateKey(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}
