/**
 * Private files of the hub's home directory: keys, tokens and kubeconfigs that only the hub's
 * own user may read. Internal to this folder.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Owner read/write only. */
export const privateMode = 0o600;
/** Readable by everyone; for certificates, which are public. */
export const publicMode = 0o644;

/** How a private file is written. */
export interface WriteOptions {
  /**
   * Flush the file and its directory to disk before returning (default true). False only for a
   * scratch home that need not survive a crash, such as a simulated member's: the write stays
   * atomic for readers, but a crash may lose it.
   */
  flush?: boolean;
}

/**
 * Replaces `path` with `data` atomically: readers see the old content or the new one, never a
 * mix, and a crash leaves the old file in place. The file gets `mode` whatever mode it had, and
 * both the file and its directory are flushed to disk before this returns (unless `flush` is false).
 */
export function writeFileAtomically(path: string, data: string | Uint8Array, mode: number, options: WriteOptions = {}): void {
  const flush = options.flush ?? true;
  const temporary = writeTemporaryBeside(path, data, mode, flush);
  try {
    renameSync(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
  if (flush) syncDirectory(dirname(path));
}

/**
 * Creates `path` holding `data`, complete or not at all, unless it already exists: then nothing
 * is written and this returns false. Two processes racing to create the same file cannot both
 * win, which matters for a key that data gets encrypted with.
 */
export function createFileAtomically(path: string, data: string | Uint8Array, mode: number, options: WriteOptions = {}): boolean {
  const flush = options.flush ?? true;
  const temporary = writeTemporaryBeside(path, data, mode, flush);
  try {
    linkSync(temporary, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(temporary, { force: true });
  }
  if (flush) syncDirectory(dirname(path));
  return true;
}

/** Writes (and with `flush`, flushes) a uniquely named temporary file in `path`'s directory; returns its path. */
function writeTemporaryBeside(path: string, data: string | Uint8Array, mode: number, flush: boolean): string {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temporary, 'wx', mode);
  try {
    writeFully(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    if (flush) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw err;
  }
  closeSync(fd);
  return temporary;
}

/**
 * Writes all of `bytes` to `fd`, at `position` or (when undefined) at the current offset. A
 * single write(2) may write less than asked (a full disk, a signal); this keeps going or throws.
 */
export function writeFully(fd: number, bytes: Uint8Array, position?: number): void {
  let written = 0;
  while (written < bytes.length) {
    const at = position === undefined ? null : position + written;
    written += writeSync(fd, bytes, written, bytes.length - written, at);
  }
}

/** Flushes a directory entry change (a create or rename) to disk; best effort where unsupported. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The file's content, or undefined when it does not exist. Other read errors are thrown. */
export async function readFileIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
