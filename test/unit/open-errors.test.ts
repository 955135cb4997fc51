// The lines an operator reads when the database or the listening address cannot be used: SQLite's and the system's
// own words kept in brackets, with the path and what to check beside them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainSqliteError, explainSystemError } from '../../src/storage/open-errors.js';

const sqliteError = (code: string, message: string) => Object.assign(new Error(message), { code });
const uid = process.getuid ? ` (uid ${process.getuid()})` : '';

test("SQLite cannot open the file: the file, SQLite's words, and the directory to check", () => {
  assert.equal(
    explainSqliteError(sqliteError('SQLITE_CANTOPEN', 'unable to open database file'), '/srv/gatehouse/gatehouse.db')?.message,
    `cannot open the database /srv/gatehouse/gatehouse.db (unable to open database file): the user running Gatehouse${uid} needs to read and write /srv/gatehouse and the files in it`,
  );
});

test('a read-only database, whichever SQLITE_READONLY variant', () => {
  for (const code of ['SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_READONLY_DIRECTORY']) {
    assert.equal(
      explainSqliteError(sqliteError(code, 'attempt to write a readonly database'), '/srv/g/gatehouse.db')?.message,
      `the database /srv/g/gatehouse.db is read-only to this process (attempt to write a readonly database): the user running Gatehouse${uid} needs to read and write /srv/g and the files in it`,
    );
  }
});

test('a file that is not a database', () => {
  assert.equal(
    explainSqliteError(sqliteError('SQLITE_NOTADB', 'file is not a database'), '/d/gatehouse.db')?.message,
    '/d/gatehouse.db is not a usable Gatehouse database (file is not a database)',
  );
});

test('errors of other kinds are left alone', () => {
  assert.equal(explainSqliteError(new Error('boom'), '/d/gatehouse.db'), undefined);
  assert.equal(explainSystemError(new Error('boom')), undefined);
  assert.equal(explainSystemError(Object.assign(new Error('x'), { code: 'ECONNRESET' })), undefined);
});

test('a system error names the path and says the cause in words', () => {
  const err = Object.assign(new Error("EROFS: read-only file system, open '/ro/gatehouse.db'"), { code: 'EROFS', syscall: 'open', path: '/ro/gatehouse.db' });
  assert.equal(explainSystemError(err)?.message, 'cannot open /ro/gatehouse.db: it is on a read-only file system (EROFS)');
});

test('an address in use or not on this machine', () => {
  const inUse = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', address: '127.0.0.1', port: 4100 });
  assert.match(explainSystemError(inUse)!.message, /^cannot listen on 127\.0\.0\.1:4100: .*\(EADDRINUSE\).*--port/);
  const absent = Object.assign(new Error('listen EADDRNOTAVAIL'), { code: 'EADDRNOTAVAIL', address: '192.0.2.7', port: 4100 });
  assert.match(explainSystemError(absent)!.message, /^cannot listen on 192\.0\.2\.7: .*\(EADDRNOTAVAIL\).*--host/);
});
