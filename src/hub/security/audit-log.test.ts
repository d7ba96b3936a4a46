import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { canonicalJson, genesisHash, openAuditLog, verifyAuditLog, type AuditRecord } from './audit-log.ts';

const homes: string[] = [];
function makeHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'nephele-audit-'));
  homes.push(home);
  return home;
}
after(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

function recordNumber(i: number): AuditRecord {
  return {
    user: i % 3 === 0 ? 'admin' : 'alice',
    verb: i % 2 === 0 ? 'get' : 'create',
    resource: 'pods',
    namespace: 'default',
    name: `pod-${i}`,
    code: 200,
    requestURI: `/api/v1/namespaces/default/pods/pod-${i}`,
    userAgent: 'kubectl/v1.32.4',
  };
}

/** A home whose audit log holds `count` records, closed. */
async function homeWithRecords(count: number): Promise<string> {
  const home = makeHome();
  const log = openAuditLog(home);
  for (let i = 1; i <= count; i++) log.append(recordNumber(i));
  await log.close();
  return home;
}

function logPath(home: string): string {
  return join(home, 'audit.log');
}

function readLines(home: string): string[] {
  return readFileSync(logPath(home), 'utf8').split('\n').slice(0, -1);
}

function writeLines(home: string, lines: string[]): void {
  writeFileSync(logPath(home), lines.map((l) => l + '\n').join(''));
}

describe('openAuditLog', () => {
  it('writes chained JSON lines, mode 0600', async () => {
    const home = await homeWithRecords(3);
    assert.equal(statSync(logPath(home)).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'audit.head')).mode & 0o777, 0o600);
    const lines = readLines(home).map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.seq), [1, 2, 3]);
    assert.equal(lines[0].prev, genesisHash);
    assert.equal(lines[1].prev, lines[0].hash);
    assert.equal(lines[2].prev, lines[1].hash);
    assert.equal(lines[0].user, 'alice');
    assert.equal(lines[0].name, 'pod-1');
    assert.match(lines[0].time, /^\d{4}-\d\d-\d\dT/);
    const head = JSON.parse(readFileSync(join(home, 'audit.head'), 'utf8'));
    assert.equal(head.seq, 3);
    assert.equal(head.hash, lines[2].hash);
  });

  it('hashes prev followed by the canonical JSON of the record and seq', async () => {
    const home = makeHome();
    const log = openAuditLog(home, { now: () => new Date('2025-01-02T03:04:05.000Z') });
    log.append({ verb: 'list', user: 'admin', resource: 'nodes', code: 200 });
    await log.close();
    const [line] = readLines(home);
    const { prev, hash, ...body } = JSON.parse(line!);
    assert.deepEqual(body, { seq: 1, time: '2025-01-02T03:04:05.000Z', user: 'admin', verb: 'list', resource: 'nodes', code: 200 });
    assert.equal(hash, createHash('sha256').update(prev + canonicalJson(body)).digest('hex'));
    assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined }), '{"a":[true,null,"x"],"b":1}');
  });

  it('keeps only the known record fields', async () => {
    const home = makeHome();
    const log = openAuditLog(home);
    const sneaky = { ...recordNumber(1), seq: 99, hash: 'x', extra: 'y' } as AuditRecord;
    log.append(sneaky);
    await log.close();
    const line = JSON.parse(readLines(home)[0]!);
    assert.equal(line.seq, 1);
    assert.equal(line.extra, undefined);
    assert.ok(verifyAuditLog(home).ok);
  });

  it('continues the chain after reopening', async () => {
    const home = await homeWithRecords(10);
    const log = openAuditLog(home);
    for (let i = 11; i <= 20; i++) log.append(recordNumber(i));
    await log.close();
    assert.deepEqual(verifyAuditLog(home), { ok: true, records: 20, problems: [] });
    assert.deepEqual(readLines(home).map((l) => JSON.parse(l).seq), Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('refuses appends after close', async () => {
    const log = openAuditLog(makeHome());
    await log.close();
    await log.close();
    assert.throws(() => log.append(recordNumber(1)), /is closed/);
  });

  it('refuses a record with a non-integer code', async () => {
    const log = openAuditLog(makeHome());
    assert.throws(() => log.append({ ...recordNumber(1), code: Number.NaN }), /integer code/);
    await log.close();
  });

  it('cuts off a last line a crash left half-written, which the head never acknowledged', async () => {
    const home = await homeWithRecords(5);
    appendFileSync(logPath(home), '{"seq":6,"time":"2025-');
    assert.equal(verifyAuditLog(home).problems[0]?.problem, 'truncated last line: the file does not end with a newline');
    const log = openAuditLog(home);
    log.append(recordNumber(6));
    await log.close();
    assert.deepEqual(verifyAuditLog(home), { ok: true, records: 6, problems: [] });
  });

  it('accepts a head one record behind, as a crash between the two writes leaves it', async () => {
    const home = await homeWithRecords(5);
    const head = readFileSync(join(home, 'audit.head'));
    const log = openAuditLog(home);
    log.append(recordNumber(6));
    await log.close();
    writeFileSync(join(home, 'audit.head'), head);
    assert.ok(verifyAuditLog(home).ok);
    const reopened = openAuditLog(home);
    reopened.append(recordNumber(7));
    await reopened.close();
    assert.deepEqual(verifyAuditLog(home), { ok: true, records: 7, problems: [] });
  });

  it('refuses to open a log whose last records were removed', async () => {
    const home = await homeWithRecords(5);
    writeLines(home, readLines(home).slice(0, -1));
    assert.throws(() => openAuditLog(home), /ends at seq 4 but .*audit\.head says 5: records were removed/);
    rmSync(logPath(home));
    assert.throws(() => openAuditLog(home), /ends at seq 0 but .*audit\.head says 5/);
  });

  it('refuses to open a log whose last record was changed, or whose head is gone', async () => {
    const home = await homeWithRecords(5);
    const lines = readLines(home);
    writeLines(home, [...lines.slice(0, -1), lines.at(-1)!.replace('"code":200', '"code":404')]);
    assert.throws(() => openAuditLog(home), /last line of .* is damaged/);
    writeLines(home, lines);
    rmSync(join(home, 'audit.head'));
    assert.throws(() => openAuditLog(home), /audit\.head is missing/);
  });

  it('handles a few thousand appends a second', async (t) => {
    const home = makeHome();
    const log = openAuditLog(home);
    const count = 5000;
    const started = performance.now();
    for (let i = 1; i <= count; i++) log.append(recordNumber(i));
    const perSecond = Math.round(count / ((performance.now() - started) / 1000));
    await log.close();
    t.diagnostic(`${perSecond} appends/s without fsync`);
    assert.ok(perSecond > 2000, `${perSecond} appends/s`);
    assert.equal(verifyAuditLog(home).records, count);

    const synced = openAuditLog(makeHome(), { fsync: true });
    const syncedCount = 500;
    const syncedStart = performance.now();
    for (let i = 1; i <= syncedCount; i++) synced.append(recordNumber(i));
    t.diagnostic(`${Math.round(syncedCount / ((performance.now() - syncedStart) / 1000))} appends/s with fsync`);
    await synced.close();
  });
});

describe('verifyAuditLog', () => {
  it('passes an intact log of 100 records', async () => {
    const home = await homeWithRecords(100);
    assert.deepEqual(verifyAuditLog(home), { ok: true, records: 100, problems: [] });
  });

  it('passes a home with no log yet', () => {
    assert.deepEqual(verifyAuditLog(makeHome()), { ok: true, records: 0, problems: [] });
  });

  it('finds a changed field at its line', async () => {
    const home = await homeWithRecords(100);
    const lines = readLines(home);
    const changed = JSON.parse(lines[39]!);
    changed.verb = 'delete';
    lines[39] = JSON.stringify(changed);
    writeLines(home, lines);
    const result = verifyAuditLog(home);
    assert.equal(result.ok, false);
    assert.equal(result.records, 100);
    assert.deepEqual(result.problems, [{ line: 40, problem: 'hash mismatch: the record was changed' }]);
  });

  it('finds a changed record whose hash was recomputed, at the next line', async () => {
    const home = await homeWithRecords(100);
    const lines = readLines(home);
    const { prev, hash: _hash, ...body } = JSON.parse(lines[39]!);
    body.code = 403;
    lines[39] = JSON.stringify({ ...body, prev, hash: createHash('sha256').update(prev + canonicalJson(body)).digest('hex') });
    writeLines(home, lines);
    assert.deepEqual(verifyAuditLog(home).problems, [{ line: 41, problem: 'chain broken: prev is not the hash of the line before' }]);
  });

  it('finds a removed record where it was', async () => {
    const home = await homeWithRecords(100);
    const lines = readLines(home);
    lines.splice(49, 1);
    writeLines(home, lines);
    const result = verifyAuditLog(home);
    assert.equal(result.ok, false);
    assert.equal(result.records, 99);
    assert.deepEqual(result.problems, [
      { line: 50, problem: 'seq jumps from 49 to 51: 1 record(s) removed or moved; chain broken: prev is not the hash of the line before' },
    ]);
  });

  it('finds reordered records', async () => {
    const home = await homeWithRecords(100);
    const lines = readLines(home);
    [lines[29], lines[30]] = [lines[30]!, lines[29]!];
    writeLines(home, lines);
    const result = verifyAuditLog(home);
    assert.equal(result.ok, false);
    const at = result.problems.map((p) => p.line);
    assert.ok(at.includes(30) && at.includes(31), JSON.stringify(result.problems));
    assert.match(result.problems.find((p) => p.line === 31)!.problem, /seq 30 follows 31: record repeated or moved/);
  });

  it('finds a repeated record', async () => {
    const home = await homeWithRecords(10);
    const lines = readLines(home);
    lines.splice(5, 0, lines[4]!);
    writeLines(home, lines);
    assert.match(verifyAuditLog(home).problems[0]!.problem, /seq 5 follows 5: record repeated/);
  });

  it('finds a removed last line through audit.head', async () => {
    const home = await homeWithRecords(100);
    writeLines(home, readLines(home).slice(0, -1));
    const result = verifyAuditLog(home);
    assert.equal(result.records, 99);
    assert.deepEqual(result.problems, [
      { line: 100, problem: 'log ends at seq 99, but audit.head says 100: the last 1 record(s) were removed' },
    ]);
  });

  it('finds a truncated last line', async () => {
    const home = await homeWithRecords(100);
    const text = readFileSync(logPath(home), 'utf8');
    writeFileSync(logPath(home), text.slice(0, -20));
    const result = verifyAuditLog(home);
    assert.equal(result.ok, false);
    assert.deepEqual(result.problems[0], { line: 100, problem: 'truncated last line: the file does not end with a newline' });
    assert.match(result.problems[1]!.problem, /audit\.head says 100/);
  });

  it('finds an emptied or deleted log through audit.head', async () => {
    const home = await homeWithRecords(100);
    writeFileSync(logPath(home), '');
    assert.deepEqual(verifyAuditLog(home).problems, [{ line: 1, problem: 'audit.log holds no records, but audit.head says it held 100' }]);
    rmSync(logPath(home));
    assert.deepEqual(verifyAuditLog(home).problems, [{ line: 1, problem: 'audit.log is missing, but audit.head says it held 100 record(s)' }]);
  });

  it('finds a removed or damaged audit.head', async () => {
    const home = await homeWithRecords(10);
    const headPath = join(home, 'audit.head');
    const head = readFileSync(headPath, 'utf8');
    writeFileSync(headPath, head.replace('"seq":10', '"seq":11'));
    assert.deepEqual(verifyAuditLog(home).problems, [{ line: 0, problem: 'audit.head is unreadable (damaged or torn)' }]);
    rmSync(headPath);
    assert.deepEqual(verifyAuditLog(home).problems, [
      { line: 0, problem: 'audit.head is missing, so removal of the last records cannot be ruled out' },
    ]);
  });

  it('finds lines that are not records', async () => {
    const home = await homeWithRecords(5);
    const lines = readLines(home);
    lines[1] = 'garbage';
    lines[2] = '';
    writeLines(home, lines);
    const problems = verifyAuditLog(home).problems;
    assert.deepEqual(problems.slice(0, 2), [
      { line: 2, problem: 'not valid JSON' },
      { line: 3, problem: 'empty line' },
    ]);
    assert.equal(problems[2]?.line, 4);
  });
});
