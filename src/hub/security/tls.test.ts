import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCertificateSet, ensureServingCertificates, installCertificateSet, type ServingCertificates } from './tls.ts';

const day = 24 * 60 * 60 * 1000;

const homes: string[] = [];

/** A fresh home directory, removed when the tests end. */
function makeHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'nephele-tls-'));
  homes.push(home);
  return home;
}

after(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

function listen(certs: ServingCertificates, host: string): Promise<Server> {
  const server = createServer({ cert: certs.certPem, key: certs.keyPem }, (_req, res) => res.end('ok'));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}

/** GETs `/` from the server at `hostname` trusting only `caPem`, with default identity checks. */
function fetchText(server: Server, hostname: string, caPem: string): Promise<string> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: '/', ca: caPem, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ensureServingCertificates', () => {
  let home: string;
  let certs: ServingCertificates;

  before(async () => {
    home = makeHome();
    certs = await ensureServingCertificates(home, ['hub.example.com', '10.0.0.7']);
  });

  it('writes the CA and serving pair to home/pki, keys with mode 0600', () => {
    const pki = join(home, 'pki');
    assert.equal(readFileSync(join(pki, 'ca.crt'), 'utf8'), certs.caPem);
    assert.equal(readFileSync(join(pki, 'server.crt'), 'utf8'), certs.certPem);
    assert.equal(readFileSync(join(pki, 'server.key'), 'utf8'), certs.keyPem);
    assert.match(readFileSync(join(pki, 'ca.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(statSync(join(pki, 'ca.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(pki, 'server.key')).mode & 0o777, 0o600);
  });

  it('makes a 10-year CA allowed to sign certificates', () => {
    const ca = new X509Certificate(certs.caPem);
    assert.equal(ca.ca, true);
    const years = (Date.parse(ca.validTo) - Date.now()) / (365 * day);
    assert.ok(years > 9.9 && years <= 10.01, `CA valid for ${years} years`);
    const parsed = new x509.X509Certificate(certs.caPem);
    const usage = parsed.getExtension(x509.KeyUsagesExtension);
    assert.ok(usage && usage.critical);
    assert.ok(usage.usages & x509.KeyUsageFlags.keyCertSign);
    assert.ok(usage.usages & x509.KeyUsageFlags.cRLSign);
    assert.equal(parsed.getExtension(x509.BasicConstraintsExtension)?.ca, true);
  });

  it('issues a 1-year serving certificate naming every host, signed by the CA', () => {
    const ca = new X509Certificate(certs.caPem);
    const cert = new X509Certificate(certs.certPem);
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(ca));
    assert.ok(cert.verify(ca.publicKey));
    const days = (Date.parse(cert.validTo) - Date.now()) / day;
    assert.ok(days > 364 && days <= 365.1, `serving certificate valid for ${days} days`);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']); // extendedKeyUsage serverAuth
    for (const host of ['localhost', 'hub.example.com']) assert.equal(cert.checkHost(host), host);
    for (const ip of ['127.0.0.1', '::1', '10.0.0.7']) assert.equal(cert.checkIP(ip), ip);
    assert.equal(cert.checkHost('other.example.com'), undefined);
  });

  it('shapes both certificates the way Go crypto/x509 expects', () => {
    const ca = new x509.X509Certificate(certs.caPem);
    for (const pem of [certs.caPem, certs.certPem]) {
      const cert = new x509.X509Certificate(pem);
      assert.deepEqual(cert.signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-256' } });
      assert.equal(cert.publicKey.algorithm.name, 'ECDSA');
      assert.equal((cert.publicKey.algorithm as EcKeyAlgorithm).namedCurve, 'P-256');
      // Positive and at most 20 octets: the first hex digit is below 8 and there are <= 40.
      assert.match(cert.serialNumber, /^[0-7][0-9a-f]{1,39}$/);
    }
    const serving = new x509.X509Certificate(certs.certPem);
    // Go matches a certificate to its parent by the raw issuer bytes.
    assert.deepEqual(Buffer.from(serving.issuerName.toArrayBuffer()), Buffer.from(ca.subjectName.toArrayBuffer()));
    const san = serving.getExtension(x509.SubjectAlternativeNameExtension);
    assert.ok(san, 'subjectAltName present');
    assert.deepEqual(
      san.names.toJSON().map((n) => `${n.type}:${n.value}`),
      ['dns:localhost', 'dns:hub.example.com', 'ip:127.0.0.1', 'ip:::1', 'ip:10.0.0.7'],
    );
  });

  it('serves TLS that Node verifies by name and by address', async () => {
    const server = await listen(certs, '127.0.0.1');
    try {
      assert.equal(await fetchText(server, 'localhost', certs.caPem), 'ok');
      assert.equal(await fetchText(server, '127.0.0.1', certs.caPem), 'ok');
    } finally {
      server.close();
    }
  });

  it('serves TLS on ::1 when the machine has IPv6 loopback', async (t) => {
    let server: Server;
    try {
      server = await listen(certs, '::1');
    } catch {
      t.skip('no IPv6 loopback');
      return;
    }
    try {
      assert.equal(await fetchText(server, '::1', certs.caPem), 'ok');
    } finally {
      server.close();
    }
  });

  it('is rejected by a client that does not trust the CA', async () => {
    const other = await ensureServingCertificates(makeHome(), []);
    const server = await listen(certs, '127.0.0.1');
    try {
      await assert.rejects(fetchText(server, 'localhost', other.caPem), /self[- ]signed|unable to verify|certificate/i);
    } finally {
      server.close();
    }
  });

  it('reuses the files when nothing changed', async () => {
    const again = await ensureServingCertificates(home, ['10.0.0.7', 'HUB.example.com.']);
    assert.deepEqual(again, certs);
  });
});

describe('ensureServingCertificates renewal', () => {
  it('re-issues with the same CA when a host is missing', async () => {
    const home = makeHome();
    const first = await ensureServingCertificates(home, ['a.example']);
    const second = await ensureServingCertificates(home, ['b.example', '192.168.1.9']);
    assert.equal(second.caPem, first.caPem);
    assert.notEqual(second.certPem, first.certPem);
    assert.notEqual(second.keyPem, first.keyPem);
    const cert = new X509Certificate(second.certPem);
    assert.equal(cert.checkHost('b.example'), 'b.example');
    assert.equal(cert.checkIP('192.168.1.9'), '192.168.1.9');
    assert.ok(cert.checkIssued(new X509Certificate(first.caPem)));
    assert.equal(readFileSync(join(home, 'pki', 'server.crt'), 'utf8'), second.certPem);
  });

  it('re-issues when the serving certificate expires within 30 days, and not before', async () => {
    const home = makeHome();
    const first = await ensureServingCertificates(home, []);
    const inMonths = await ensureServingCertificates(home, [], { now: () => new Date(Date.now() + 300 * day) });
    assert.equal(inMonths.certPem, first.certPem);
    const nearExpiry = new Date(Date.now() + 340 * day);
    const renewed = await ensureServingCertificates(home, [], { now: () => nearExpiry });
    assert.equal(renewed.caPem, first.caPem);
    assert.notEqual(renewed.certPem, first.certPem);
    assert.ok(Date.parse(new X509Certificate(renewed.certPem).validTo) > nearExpiry.getTime() + 360 * day);
  });

  it('repairs a serving key that does not match its certificate', async () => {
    const home = makeHome();
    const first = await ensureServingCertificates(home, []);
    const stranger = await ensureServingCertificates(makeHome(), []);
    writeFileSync(join(home, 'pki', 'server.key'), stranger.keyPem);
    const repaired = await ensureServingCertificates(home, []);
    assert.notEqual(repaired.certPem, first.certPem);
    assert.ok(new X509Certificate(repaired.certPem).checkPrivateKey(createPrivateKey(repaired.keyPem)));
  });

  it('refuses to replace a CA whose key is missing, or one that expired', async () => {
    const home = makeHome();
    await ensureServingCertificates(home, []);
    await assert.rejects(
      ensureServingCertificates(home, [], { now: () => new Date(Date.now() + 3651 * day) }),
      /CA .* expired/,
    );
    rmSync(join(home, 'pki', 'ca.key'));
    await assert.rejects(ensureServingCertificates(home, []), /ca\.key is missing/);
  });

  it('rejects a host that is neither a DNS name nor an IP address', async () => {
    const home = makeHome();
    await assert.rejects(ensureServingCertificates(home, ['https://hub:6443']), /neither a DNS name nor an IP address/);
  });
});

describe('createCertificateSet and installCertificateSet', () => {
  it('serve TLS verified by the set\'s CA, and leave home/pki as ensureServingCertificates keeps it', async () => {
    const set = await createCertificateSet(['127.0.0.1']);
    assert.ok(new X509Certificate(set.caPem).ca);
    assert.ok(new X509Certificate(set.caPem).checkPrivateKey(createPrivateKey(set.caKeyPem)));
    assert.ok(new X509Certificate(set.certPem).checkIssued(new X509Certificate(set.caPem)));

    const home = makeHome();
    const served = installCertificateSet(home, set, { flush: false });
    assert.deepEqual(served, { caPem: set.caPem, certPem: set.certPem, keyPem: set.keyPem });
    assert.equal(readFileSync(join(home, 'pki', 'ca.key'), 'utf8'), set.caKeyPem);
    assert.equal(statSync(join(home, 'pki', 'ca.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'pki', 'server.key')).mode & 0o777, 0o600);

    const server = await listen(served, '127.0.0.1');
    try {
      assert.equal(await fetchText(server, 'localhost', set.caPem), 'ok');
    } finally {
      server.close();
    }
    // The installed set is a valid home of its own: nothing is re-issued.
    assert.deepEqual(await ensureServingCertificates(home, ['127.0.0.1']), served);
  });

  it('rejects a host that is neither a DNS name nor an IP address', async () => {
    await assert.rejects(createCertificateSet(['not a host']), /neither a DNS name nor an IP address/);
  });
});
