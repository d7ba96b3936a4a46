/**
 * SqliteStore keeps objects in one SQLite file through `node:sqlite`: the embedded default for a
 * single hub. A write is acknowledged only after its transaction is committed with WAL and
 * synchronous=FULL, so it survives kill -9 (and power loss, as far as the disk keeps its fsync
 * promises). The file belongs to one process: it is opened with an exclusive lock, and watches fan
 * out in process, right after the commit.
 *
 * Writes are group-committed: the writes that arrive within one event-loop turn share one
 * transaction and so one fsync. The fsync is the whole cost of a small write, so this is what lets
 * concurrent clients write many thousands of objects a second; each write still succeeds or fails
 * on its own, and reads only ever see committed state.
 *
 * Tables: `objects` holds the current state, `events` the recent changes (for watch replay), and
 * `meta` the bookkeeping that must outlive both (the revision floor and the oldest retained
 * revision). The revision is `MAX(events.revision)` or the floor, so it never goes backwards.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { KubeObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import { decodeContinue, encodeContinue } from './continue-token.ts';
import { checkRevision, stampRevision, storeClosedError, storeErrors } from './store-errors.ts';
import type { DeleteOptions, ListOptions, ListResult, Store, Watch, WatchEventType, WatchHandlers, WatchOptions } from './store.ts';
import { WatchChannel } from './watch-channel.ts';
import { WatchFanout, type StoredEvent } from './watch-fanout.ts';

export interface SqliteStoreOptions {
  /** The database file; created when missing. `:memory:` works for tests that need no file. */
  path: string;
  /** How many recent changes stay available for watch replay. Default 10,000. */
  historyLimit?: number;
}

const schemaVersion = 1;
const defaultHistoryLimit = 10_000;
/** Rows read per query while listing, so a huge prefix never sits in memory twice. */
const listBatch = 500;

const schema = `
  CREATE TABLE objects (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE events (
    revision INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    type TEXT NOT NULL,
    value TEXT,
    previous TEXT
  );
  CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/** At most this many changes share one transaction, which bounds how long a commit blocks. */
const maxGroupCommit = 1_000;

interface PendingWrite {
  apply: (revision: number) => StoredEvent;
  resolve: (object: KubeObject) => void;
  reject: (err: unknown) => void;
}

interface ObjectRow {
  value: string;
  revision: number;
}

interface EventRow {
  revision: number;
  key: string;
  type: string;
  value: string | null;
  previous: string | null;
}

export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}

export class SqliteStore implements Store {
  readonly backend = 'sqlite';
  readonly #db: DatabaseSync;
  readonly #historyLimit: number;
  /** Compaction of the events log runs once this many extra changes piled up, not on every write. */
  readonly #compactionSlack: number;
  readonly #sql: ReturnType<typeof prepareStatements>;
  #revision: number;
  /** The oldest revision a replay can begin at; a watch from below `#oldest - 1` is Expired. */
  #oldest: number;
  readonly #fanout = new WatchFanout();
  readonly #pending: PendingWrite[] = [];
  #flushScheduled = false;
  /** Writes the last group commit carried: more than one means writers overlap (see #enqueue). */
  #lastBatch = 0;
  #closed = false;
  #closing = false;

  constructor(options: SqliteStoreOptions) {
    const limit = options.historyLimit ?? defaultHistoryLimit;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`historyLimit must be a positive integer, got ${limit}`);
    this.#historyLimit = limit;
    this.#compactionSlack = Math.max(1, Math.min(1_000, Math.floor(limit / 10)));
    this.#db = openDatabase(options.path);
    try {
      this.#sql = prepareStatements(this.#db);
      const meta = new Map(this.#sql.readMeta.all().map((row) => [row.name as string, row.value as number]));
      const lastEvent = (this.#sql.lastEventRevision.get()?.revision as number | null) ?? 0;
      this.#revision = Math.max(lastEvent, meta.get('revision') ?? 0);
      this.#oldest = meta.get('oldest') ?? 1;
    } catch (err) {
      this.#db.close();
      throw err;
    }
  }

  async get(key: string): Promise<KubeObject | undefined> {
    this.#assertOpen();
    const row = this.#sql.getObject.get(key) as ObjectRow | undefined;
    return row && (JSON.parse(row.value) as KubeObject);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.#assertOpen();
    const limit = options.limit ?? 0;
    checkRevision('limit', limit);
    let revision = this.#revision;
    let from = prefix;
    /** A key to pass over: where the previous page (or batch) stopped. */
    let skip: string | undefined;
    if (options.continue !== undefined) {
      const position = decodeContinue(options.continue, prefix);
      if (position.revision < this.#oldest - 1) throw storeErrors.staleContinue();
      // As in the memory store: later pages report the first page's revision (see continue-token.ts).
      revision = position.revision;
      from = skip = position.key;
    }
    const upper = prefixUpperBound(prefix);
    const items: KubeObject[] = [];
    /** The rows' values: written by JSON.stringify, so each is exactly its parsed item serialised again. */
    const texts: string[] = [];
    let lastKey: string | undefined;
    let more = false;
    // Every read below is synchronous, so the whole page sees one committed state.
    scan: for (;;) {
      const rows = (upper === undefined
        ? this.#sql.listFrom.all(from, listBatch)
        : this.#sql.listRange.all(from, upper, listBatch)) as unknown as { key: string; value: string }[];
      for (const row of rows) {
        if (row.key === skip) continue;
        if (!row.key.startsWith(prefix)) break scan;
        const object = JSON.parse(row.value) as KubeObject;
        if (options.predicate && !options.predicate(object)) continue;
        if (limit > 0 && items.length === limit) {
          more = true;
          break scan;
        }
        items.push(object);
        texts.push(row.value);
        lastKey = row.key;
      }
      if (rows.length < listBatch) break;
      from = skip = rows[rows.length - 1]!.key;
    }
    const result: ListResult = { items, revision, texts };
    if (more && lastKey !== undefined) result.continue = encodeContinue({ key: lastKey, revision });
    return result;
  }

  async create(key: string, obj: KubeObject): Promise<KubeObject> {
    this.#assertOpen();
    const object = copyForStore(obj);
    return this.#enqueue((revision) => {
      if (this.#sql.getObject.get(key)) throw storeErrors.alreadyExists(key);
      stampRevision(object, revision);
      const value = JSON.stringify(object);
      this.#sql.insertObject.run(key, value, revision, revision);
      this.#sql.insertEvent.run(revision, key, 'ADDED', value, null);
      return { type: 'ADDED', key, revision, object };
    });
  }

  async update(key: string, obj: KubeObject, expectedRevision?: number): Promise<KubeObject> {
    this.#assertOpen();
    checkRevision('expectedRevision', expectedRevision);
    const object = copyForStore(obj);
    return this.#enqueue((revision) => {
      const current = this.#sql.getObject.get(key) as ObjectRow | undefined;
      if (!current) throw storeErrors.notFound(key);
      if (expectedRevision !== undefined && current.revision !== expectedRevision) throw storeErrors.modified(key);
      stampRevision(object, revision);
      const value = JSON.stringify(object);
      this.#sql.updateObject.run(value, revision, key);
      this.#sql.insertEvent.run(revision, key, 'MODIFIED', value, current.value);
      const event: StoredEvent = { type: 'MODIFIED', key, revision, object };
      // Parsing the previous state is work only a watch needs.
      if (this.#fanout.size > 0) event.previous = JSON.parse(current.value) as KubeObject;
      return event;
    });
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<KubeObject> {
    this.#assertOpen();
    checkRevision('expectedRevision', options.expectedRevision);
    return this.#enqueue((revision) => {
      const current = this.#sql.getObject.get(key) as ObjectRow | undefined;
      if (!current) throw storeErrors.notFound(key);
      if (options.expectedRevision !== undefined && current.revision !== options.expectedRevision) {
        throw storeErrors.revisionPrecondition(key, options.expectedRevision, current.revision);
      }
      const previous = JSON.parse(current.value) as KubeObject;
      if (options.expectedUid !== undefined && previous.metadata?.uid !== options.expectedUid) {
        throw storeErrors.uidPrecondition(key, options.expectedUid, previous.metadata?.uid);
      }
      this.#sql.deleteObject.run(key);
      this.#sql.insertEvent.run(revision, key, 'DELETED', null, current.value);
      const object = stampRevision(JSON.parse(current.value) as KubeObject, revision);
      return { type: 'DELETED', key, revision, object, previous };
    });
  }

  async watch(prefix: string, options: WatchOptions, handlers: WatchHandlers): Promise<Watch> {
    this.#assertOpen();
    const from = options.fromRevision ?? 0;
    checkRevision('fromRevision', from);
    if (from > 0 && from < this.#oldest - 1) throw storeErrors.tooOld(from, this.#oldest - 1);
    const channel = new WatchChannel({
      handlers,
      bookmarkIntervalMs: options.bookmarkIntervalMs,
      bookmarkRevision: () => this.#revision,
      onClose: () => this.#fanout.unsubscribe(channel),
    });
    // Replay and subscription happen in one synchronous step, so no write can fall between them.
    if (from > 0 && from < this.#revision) {
      for (const row of this.#sql.eventsAfter.iterate(from) as Iterable<EventRow>) {
        // A row parses into fresh objects: nothing to copy.
        if (row.key.startsWith(prefix)) channel.push(eventFromRow(row));
      }
    }
    this.#fanout.subscribe(channel, prefix, from > 0 ? from : this.#revision, options.readOnly === true);
    return channel;
  }

  async currentRevision(): Promise<number> {
    this.#assertOpen();
    return this.#revision;
  }

  async compact(revision: number): Promise<void> {
    this.#assertOpen();
    checkRevision('revision', revision);
    if (revision > this.#revision) throw storeErrors.futureCompaction(revision, this.#revision);
    if (revision <= this.#oldest) return;
    this.#transaction(() => this.#compactBefore(revision, this.#revision));
    this.#oldest = revision;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Writes already accepted are committed, not dropped.
    this.#closing = true;
    this.#flush();
    this.#closing = false;
    this.#fanout.failAll(storeClosedError(this.backend));
    try {
      this.#sql.writeMeta.run('revision', this.#revision);
    } finally {
      this.#db.close();
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosedError(this.backend);
  }

  /**
   * Queues one change for the next group commit and settles once that commit is durable (or
   * failed). `apply` runs inside the transaction with the revision the change gets if it succeeds;
   * it checks its preconditions first and throws a StatusError before touching any row when they
   * fail, so a refused change leaves nothing to undo and takes no revision.
   */
  #enqueue(apply: (revision: number) => StoredEvent): Promise<KubeObject> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ apply, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // While writers overlap (the last commit carried several), the commit waits one more
        // turn for the writes still on their way, so more of them share its fsync and page
        // writes; a lone writer is committed at the end of this turn, without the wait.
        if (this.#lastBatch > 1) setImmediate(() => setImmediate(() => this.#flush()));
        else setImmediate(() => this.#flush());
      }
    });
  }

  /**
   * Commits the queued changes in one transaction, so concurrent writers share one fsync; each
   * change is still atomic and acknowledged only after the commit. Events are published in
   * revision order after the commit, never for a change that did not reach the disk.
   */
  #flush(): void {
    this.#flushScheduled = false;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, maxGroupCommit);
      this.#lastBatch = batch.length;
      if (this.#closed && !this.#closing) {
        for (const write of batch) write.reject(storeClosedError(this.backend));
        continue;
      }
      const outcomes: (StoredEvent | StatusError)[] = [];
      let revision = this.#revision;
      let trimBefore: number | undefined;
      try {
        this.#transaction(() => {
          for (const write of batch) {
            try {
              const event = write.apply(revision + 1);
              revision = event.revision;
              outcomes.push(event);
            } catch (err) {
              if (!(err instanceof StatusError)) throw err;
              outcomes.push(err);
            }
          }
          if (revision - this.#oldest + 1 > this.#historyLimit + this.#compactionSlack) {
            trimBefore = revision - this.#historyLimit + 1;
            this.#compactBefore(trimBefore, revision);
          }
        });
      } catch (err) {
        // Nothing of the batch reached the disk: every writer in it learns so.
        for (const write of batch) write.reject(err);
        continue;
      }
      this.#revision = revision;
      if (trimBefore !== undefined) this.#oldest = trimBefore;
      batch.forEach((write, i) => {
        const outcome = outcomes[i]!;
        if (outcome instanceof StatusError) {
          write.reject(outcome);
        } else {
          this.#fanout.publish(outcome);
          write.resolve(outcome.object!);
        }
      });
      // Writes queued while this batch ran wait for the next turn, so reads and I/O get a say.
      if (this.#pending.length > 0 && !this.#closing) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
        return;
      }
    }
  }

  /** Drops the change log below `revision`, recording the new floor and `current` durably. */
  #compactBefore(revision: number, current: number): void {
    this.#sql.deleteEventsBefore.run(revision);
    this.#sql.writeMeta.run('oldest', revision);
    this.#sql.writeMeta.run('revision', current);
  }

  #transaction(body: () => void): void {
    this.#sql.begin.run();
    try {
      body();
      this.#sql.commit.run();
    } catch (err) {
      if (this.#db.isTransaction) this.#sql.rollback.run();
      throw err;
    }
  }
}

function openDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    // The exclusive lock must be set before the first access to hold for the connection's life.
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    const mode = db.prepare('PRAGMA journal_mode = WAL').get()?.journal_mode;
    if (mode !== 'wal' && path !== ':memory:') throw new Error(`could not switch ${path} to WAL (journal_mode is ${String(mode)})`);
    db.exec('PRAGMA synchronous = FULL');
    db.exec('BEGIN EXCLUSIVE');
    const version = db.prepare('PRAGMA user_version').get()?.user_version as number;
    if (version === 0) {
      db.exec(schema);
      db.exec(`PRAGMA user_version = ${schemaVersion}`);
    } else if (version !== schemaVersion) {
      throw new Error(`${path} has schema version ${version}; this build reads version ${schemaVersion}`);
    }
    db.exec('COMMIT');
    return db;
  } catch (err) {
    db.close();
    if (err instanceof Error && /database is locked/.test(err.message)) {
      throw new Error(`sqlite store: ${path} is in use by another process (${err.message})`, { cause: err });
    }
    throw err;
  }
}

function prepareStatements(db: DatabaseSync) {
  const prepare = (sql: string): StatementSync => db.prepare(sql);
  return {
    begin: prepare('BEGIN'),
    commit: prepare('COMMIT'),
    rollback: prepare('ROLLBACK'),
    getObject: prepare('SELECT value, revision FROM objects WHERE key = ?'),
    listFrom: prepare('SELECT key, value FROM objects WHERE key >= ? ORDER BY key LIMIT ?'),
    listRange: prepare('SELECT key, value FROM objects WHERE key >= ? AND key < ? ORDER BY key LIMIT ?'),
    insertObject: prepare('INSERT INTO objects (key, value, revision, created) VALUES (?, ?, ?, ?)'),
    updateObject: prepare('UPDATE objects SET value = ?, revision = ? WHERE key = ?'),
    deleteObject: prepare('DELETE FROM objects WHERE key = ?'),
    insertEvent: prepare('INSERT INTO events (revision, key, type, value, previous) VALUES (?, ?, ?, ?, ?)'),
    eventsAfter: prepare('SELECT revision, key, type, value, previous FROM events WHERE revision > ? ORDER BY revision'),
    deleteEventsBefore: prepare('DELETE FROM events WHERE revision < ?'),
    lastEventRevision: prepare('SELECT MAX(revision) AS revision FROM events'),
    readMeta: prepare('SELECT name, value FROM meta'),
    writeMeta: prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
  };
}

function eventFromRow(row: EventRow): StoredEvent {
  const type = row.type as WatchEventType;
  const event: StoredEvent = { type, key: row.key, revision: row.revision };
  if (row.previous !== null) event.previous = JSON.parse(row.previous) as KubeObject;
  // DELETED keeps only the last state; the event shows it stamped with the delete's revision.
  event.object = row.value !== null
    ? (JSON.parse(row.value) as KubeObject)
    : stampRevision(JSON.parse(row.previous!) as KubeObject, row.revision);
  return event;
}

/** A copy of the caller's object that the store may stamp; JSON is what gets stored anyway. */
function copyForStore(obj: KubeObject): KubeObject {
  return JSON.parse(JSON.stringify(obj)) as KubeObject;
}

/**
 * The smallest string above every key that starts with `prefix`, in SQLite's byte order, or
 * undefined when there is none short of the end. Raising the last UTF-16 unit is a valid bound
 * whenever it is not a surrogate; the caller also checks `startsWith`, so a loose bound is safe.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  for (let end = prefix.length; end > 0; end--) {
    const unit = prefix.charCodeAt(end - 1);
    if (unit < 0xd7ff || (unit >= 0xe000 && unit < 0xffff)) {
      return prefix.slice(0, end - 1) + String.fromCharCode(unit + 1);
    }
  }
  return undefined;
}
