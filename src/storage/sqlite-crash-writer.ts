/**
 * A child process for the kill -9 test of the sqlite store: it creates objects as fast as it can
 * and prints each key on stdout only after the store acknowledged it, until it is killed.
 * Usage: node sqlite-crash-writer.ts <database path>
 */
import { writeSync } from 'node:fs';
import { createSqliteStore } from './sqlite-store.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: sqlite-crash-writer.ts <database path>');
const store = createSqliteStore({ path });
for (let i = 0; ; i++) {
  const key = `/crash/${i}`;
  await store.create(key, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: String(i), namespace: 'default' }, data: { i: String(i) } });
  // A synchronous write, so a printed key really left the process before the next write starts.
  writeSync(1, key + '\n');
}
