/**
 * The hub's audit log: an append-only file of JSON lines, `home/audit.log`, in which every line
 * is chained to the one before by a SHA-256 hash, and a companion `home/audit.head` that
 * remembers the last sequence number and hash written.
 *
 * A line is the record plus three fields:
 *
 *     {"seq":7,"time":"…","user":"admin","verb":"get","resource":"pods","code":200,
 *      "prev":"<hash of line 6>","hash":"<sha256 hex of prev ‖ canonical JSON of the rest>"}
 *
 * where canonical JSON has sorted keys and no whitespace, and line 1 chains to `genesisHash`.
 *
 * What this detects, by `verifyAuditLog`: a changed record (its hash no longer matches), a
 * removed, duplicated or reordered record (a gap or step back in `seq`, a broken chain), a
 * truncated last line, and removed last records or an emptied or deleted log (`audit.head`
 * remembers more than the log holds). What it cannot detect: someone able to write both files
 * can rewrite the whole chain consistently; the hashes are not keyed. Copy `audit.head` (or a
 * hash from it) somewhere that person cannot reach to anchor the log against that.
 *
 * Guarantees of `append`: records are written in call order, each by one synchronous write
 * before `append` returns, so a record survives the process crashing right after. With
 * `fsync: true` the log is also flushed to disk before `append` returns, so it survives power
 * loss too, and `audit.head` never gets ahead of what is on disk. `audit.head` is updated after
 * every append with one in-place write of a fixed-size (256-byte) record that carries its own
 * checksum: a process crash leaves it whole, old or new; a torn write after power loss is
 * reported as an unreadable head, never trusted. It may lag the log by one record (a crash
 * between the two writes), which open and verify accept; it is never ahead of it unless records
 * were lost.
 *
 * One writer per home: two processes appending to the same log break the chain.
 */
import { hash as digest } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
} from 'node:fs';
import { join } from 'node:path';
import { writeFully } from './private-file.ts';

/** What one audit line records about one request. */
export interface AuditRecord {
  user: string;
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
  /** The HTTP status code of the response. */
  code: number;
  /** RFC 3339 time of the request; `append` fills in the current time when absent. */
  time?: string;
  requestURI?: string;
  userAgent?: string;
}

export interface AuditLog {
  /**
   * Appends a record as the next line, in call order, before returning. Throws if the log is
   * closed, or if writing fails; after a failed write the log refuses further appends, and
   * the next `openAuditLog` repairs or reports the damage.
   */
  append(record: AuditRecord): void;
  /** Flushes both files to disk and closes them. Idempotent. */
  close(): Promise<void>;
}

export interface AuditLogOptions {
  /** Flush the log to disk on every append: survives power loss, at some thousands of appends/s. */
  fsync?: boolean;
  /** The clock for records without `time`. Defaults to the system clock. */
  now?: () => Date;
}

export interface AuditProblem {
  /** 1-based line of audit.log the problem is found at; 0 for a problem with audit.head itself. */
  line: number;
  problem: string;
}

export interface AuditVerification {
  /** True when no problem was found. */
  ok: boolean;
  /** How many lines parsed as records, whether or not their hashes matched. */
  records: number;
  problems: AuditProblem[];
}

/** The `prev` of the first line. */
export const genesisHash = '0'.repeat(64);

const headSize = 256;
const hexHash = /^[0-9a-f]{64}$/;

interface ChainPosition {
  seq: number;
  hash: string;
}

/** A parsed line: the hashed part, and the chain fields beside it. */
interface AuditLine {
  body: Record<string, unknown>;
  seq: number;
  prev: string;
  hash: string;
}

function paths(home: string): { log: string; head: string } {
  return { log: join(home, 'audit.log'), head: join(home, 'audit.head') };
}

/**
 * Opens `home/audit.log` for appending (creating it, mode 0600), continuing the chain from its
 * last line. Checks, cheaply, that the log's end agrees with `audit.head`, and throws if not:
 * records were removed, the last line was changed, or the head is missing or unreadable while
 * the log has records. Run `verifyAuditLog` to see the damage; to start a new log, move both
 * `audit.log` and `audit.head` aside. A last line cut short by a crash mid-write, which the
 * head shows was never acknowledged, is cut off and appending continues.
 */
export function openAuditLog(home: string, options: AuditLogOptions = {}): AuditLog {
  const now = options.now ?? (() => new Date());
  const fsync = options.fsync ?? false;
  const files = paths(home);
  mkdirSync(home, { recursive: true, mode: 0o700 });

  const head = readHead(files.head);
  if (head === 'unreadable') {
    throw new Error(`${files.head} is unreadable; run verifyAuditLog, and move audit.log and audit.head aside to start a new log`);
  }

  const logFd = openSync(files.log, 'a+', 0o600);
  let headFd: number | undefined;
  let position: ChainPosition;
  try {
    const tail = readTail(logFd);
    let last: AuditLine | undefined;
    if (tail.lastLine !== undefined) {
      const parsed = parseLine(tail.lastLine);
      if (typeof parsed === 'string' || hashOf(parsed.prev, parsed.body) !== parsed.hash) {
        throw new Error(`the last line of ${files.log} is damaged; run verifyAuditLog`);
      }
      last = parsed;
    }
    checkTailAgainstHead(last, head, files);
    if (tail.fragmentBytes > 0) {
      // The head proves this fragment was never acknowledged: a write cut short by a crash.
      ftruncateSync(logFd, fstatSync(logFd).size - tail.fragmentBytes);
    }
    position = last === undefined ? { seq: 0, hash: genesisHash } : { seq: last.seq, hash: last.hash };

    headFd = openSync(files.head, existsSync(files.head) ? 'r+' : 'w+', 0o600);
    writeHead(headFd, position);
    ftruncateSync(headFd, headSize);
  } catch (err) {
    closeSync(logFd);
    if (headFd !== undefined) closeSync(headFd);
    throw err;
  }

  const headFile = headFd;
  let state: 'open' | 'failed' | 'closed' = 'open';

  return {
    append(record) {
      if (state !== 'open') throw new Error(`audit log ${files.log} is ${state === 'closed' ? 'closed' : 'unusable after a failed write'}`);
      const body = { seq: position.seq + 1, ...recordFields(record, now) };
      const hash = hashOf(position.hash, body);
      const line = JSON.stringify({ ...body, prev: position.hash, hash }) + '\n';
      try {
        writeFully(logFd, Buffer.from(line, 'utf8'));
        if (fsync) fdatasyncSync(logFd);
        position = { seq: body.seq, hash };
        writeHead(headFile, position);
      } catch (err) {
        state = 'failed';
        throw err;
      }
    },
    async close() {
      if (state === 'closed') return;
      state = 'closed';
      try {
        fdatasyncSync(logFd);
        fdatasyncSync(headFile);
      } finally {
        closeSync(logFd);
        closeSync(headFile);
      }
    },
  };
}

/**
 * Reads the whole log and reports every problem found, with the line it is found at. Never
 * throws for a damaged log; I/O errors other than a missing file are thrown. While another
 * process is appending, the last line may be reported as truncated.
 */
export function verifyAuditLog(home: string): AuditVerification {
  const files = paths(home);
  const problems: AuditProblem[] = [];
  const head = readHead(files.head);
  if (head === 'unreadable') problems.push({ line: 0, problem: 'audit.head is unreadable (damaged or torn)' });

  let text: string | undefined;
  try {
    text = readFileSync(files.log, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const lines = text === undefined || text === '' ? [] : text.split('\n');
  const complete = text === undefined || text === '' || text.endsWith('\n');
  if (complete && lines.length > 0) lines.pop(); // the empty string after the final newline
  const completeLines = complete ? lines.length : lines.length - 1;

  let records = 0;
  let expectedSeq = 1;
  let prevHash = genesisHash;
  let last: ChainPosition | undefined;
  /** Where each seq was first seen, to compare with the head. */
  const seen = new Map<number, { hash: string; line: number }>();

  for (const [index, raw] of lines.entries()) {
    const lineNumber = index + 1;
    if (!complete && index === lines.length - 1) {
      problems.push({ line: lineNumber, problem: 'truncated last line: the file does not end with a newline' });
      break;
    }
    const parsed = parseLine(raw);
    if (typeof parsed === 'string') {
      problems.push({ line: lineNumber, problem: parsed });
      continue;
    }
    records++;
    const found: string[] = [];
    if (hashOf(parsed.prev, parsed.body) !== parsed.hash) {
      found.push('hash mismatch: the record was changed');
    }
    if (parsed.seq > expectedSeq) {
      found.push(`seq jumps from ${expectedSeq - 1} to ${parsed.seq}: ${parsed.seq - expectedSeq} record(s) removed or moved`);
    } else if (parsed.seq < expectedSeq) {
      found.push(`seq ${parsed.seq} follows ${expectedSeq - 1}: record repeated or moved`);
    }
    if (parsed.prev !== prevHash) {
      found.push(index === 0 ? 'chain broken: the first record does not start from the genesis hash' : 'chain broken: prev is not the hash of the line before');
    }
    if (found.length > 0) problems.push({ line: lineNumber, problem: found.join('; ') });

    // Continue from what this line claims, so one problem is reported once, where it is.
    expectedSeq = parsed.seq + 1;
    prevHash = parsed.hash;
    last = { seq: parsed.seq, hash: parsed.hash };
    if (!seen.has(parsed.seq)) seen.set(parsed.seq, { hash: parsed.hash, line: lineNumber });
  }

  if (head !== undefined && head !== 'unreadable' && head.seq > 0) {
    const lastSeq = last?.seq ?? 0;
    if (text === undefined) {
      problems.push({ line: 1, problem: `audit.log is missing, but audit.head says it held ${head.seq} record(s)` });
    } else if (records === 0) {
      problems.push({ line: 1, problem: `audit.log holds no records, but audit.head says it held ${head.seq}` });
    } else if (head.seq > lastSeq) {
      problems.push({
        line: completeLines + 1,
        problem: `log ends at seq ${lastSeq}, but audit.head says ${head.seq}: the last ${head.seq - lastSeq} record(s) were removed`,
      });
    } else {
      const remembered = seen.get(head.seq);
      if (remembered !== undefined && remembered.hash !== head.hash) {
        problems.push({ line: remembered.line, problem: `record ${head.seq} is not the one audit.head remembers` });
      }
    }
  } else if (head === undefined && records > 1) {
    problems.push({ line: 0, problem: 'audit.head is missing, so removal of the last records cannot be ruled out' });
  }

  return { ok: problems.length === 0, records, problems };
}

/**
 * The chain fields a record contributes, in a fixed order, without absent optional fields.
 * Unknown properties of `record` are ignored so nothing can shadow `seq`, `prev` or `hash`.
 */
function recordFields(record: AuditRecord, now: () => Date): Record<string, string | number> {
  if (typeof record.user !== 'string' || typeof record.verb !== 'string' || typeof record.resource !== 'string') {
    throw new Error('an audit record needs string user, verb and resource');
  }
  if (!Number.isInteger(record.code)) throw new Error(`an audit record needs an integer code, not ${record.code}`);
  const fields: Record<string, string | number> = {
    time: record.time ?? now().toISOString(),
    user: record.user,
    verb: record.verb,
    resource: record.resource,
  };
  if (record.namespace !== undefined) fields.namespace = record.namespace;
  if (record.name !== undefined) fields.name = record.name;
  fields.code = record.code;
  if (record.requestURI !== undefined) fields.requestURI = record.requestURI;
  if (record.userAgent !== undefined) fields.userAgent = record.userAgent;
  return fields;
}

/** SHA-256 hex of `prev` followed by the canonical JSON of the line without `prev` and `hash`. */
function hashOf(prev: string, body: Record<string, unknown>): string {
  return digest('sha256', prev + canonicalJson(body), 'hex');
}

/** JSON with object keys sorted and no whitespace: one text for one value, whatever key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** A line split into its hashed body and chain fields, or why it is not a record. */
function parseLine(raw: string): AuditLine | string {
  if (raw === '') return 'empty line';
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return 'not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const { prev, hash, ...body } = value as Record<string, unknown>;
  const seq = body.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return 'malformed record: seq is not a positive integer';
  if (typeof prev !== 'string' || !hexHash.test(prev)) return 'malformed record: prev is not a SHA-256 hex digest';
  if (typeof hash !== 'string' || !hexHash.test(hash)) return 'malformed record: hash is not a SHA-256 hex digest';
  return { body, seq, prev, hash };
}

/**
 * The last complete line of the file (without its newline) and the length of any bytes after
 * the last newline, reading backwards only as far as needed.
 */
function readTail(fd: number): { lastLine: string | undefined; fragmentBytes: number } {
  const size = fstatSync(fd).size;
  const chunk = 64 * 1024;
  let buffered = Buffer.alloc(0);
  let start = size;
  // Stop once the buffer holds two newlines (the one ending the last complete line and the one
  // before it) or reaches the start of the file.
  while (start > 0) {
    const length = Math.min(chunk, start);
    start -= length;
    const piece = Buffer.alloc(length);
    let read = 0;
    while (read < length) read += readSync(fd, piece, read, length - read, start + read);
    buffered = Buffer.concat([piece, buffered]);
    const lastNewline = buffered.lastIndexOf(0x0a);
    if (lastNewline !== -1 && buffered.lastIndexOf(0x0a, lastNewline - 1) !== -1) break;
  }
  const lastNewline = buffered.lastIndexOf(0x0a);
  if (lastNewline === -1) return { lastLine: undefined, fragmentBytes: buffered.length };
  const before = buffered.lastIndexOf(0x0a, lastNewline - 1);
  return {
    lastLine: buffered.subarray(before + 1, lastNewline).toString('utf8'),
    fragmentBytes: buffered.length - lastNewline - 1,
  };
}

/** Throws unless the log's last complete line agrees with the head (see `openAuditLog`). */
function checkTailAgainstHead(last: AuditLine | undefined, head: ChainPosition | undefined, files: { log: string; head: string }): void {
  const lastSeq = last?.seq ?? 0;
  const advice = 'run verifyAuditLog, and move audit.log and audit.head aside to start a new log';
  if (head === undefined) {
    if (lastSeq > 1) throw new Error(`${files.head} is missing while ${files.log} holds records; ${advice}`);
    return;
  }
  if (head.seq > lastSeq) {
    throw new Error(`${files.log} ends at seq ${lastSeq} but ${files.head} says ${head.seq}: records were removed; ${advice}`);
  }
  if (head.seq === lastSeq && last !== undefined && last.hash !== head.hash) {
    throw new Error(`the last record of ${files.log} is not the one ${files.head} remembers; ${advice}`);
  }
  if (head.seq === lastSeq - 1 && last !== undefined && last.prev !== head.hash) {
    throw new Error(`the last record of ${files.log} does not follow the one ${files.head} remembers; ${advice}`);
  }
}

function headCheck(position: ChainPosition): string {
  return digest('sha256', `audit.head:${position.seq}:${position.hash}`, 'hex').slice(0, 16);
}

/** Overwrites the head in place with one fixed-size write (see the module comment). */
function writeHead(fd: number, position: ChainPosition): void {
  const json = JSON.stringify({ seq: position.seq, hash: position.hash, check: headCheck(position) });
  writeFully(fd, Buffer.from(json.padEnd(headSize - 1, ' ') + '\n', 'utf8'), 0);
}

/** The head, undefined when the file does not exist, or 'unreadable' when it is damaged. */
function readHead(path: string): ChainPosition | undefined | 'unreadable' {
  // A reader racing a writer's in-place update can see a torn head; a second look settles it.
  let result: ChainPosition | 'unreadable' = 'unreadable';
  for (let attempt = 0; attempt < 3 && result === 'unreadable'; attempt++) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    result = parseHead(text);
  }
  return result;
}

function parseHead(text: string): ChainPosition | 'unreadable' {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'unreadable';
  }
  const { seq, hash, check } = (value ?? {}) as Record<string, unknown>;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return 'unreadable';
  if (typeof hash !== 'string' || !hexHash.test(hash)) return 'unreadable';
  if (check !== headCheck({ seq, hash })) return 'unreadable';
  return { seq, hash };
}
