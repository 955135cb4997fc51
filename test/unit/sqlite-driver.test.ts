// The SQLite driver's own logic, on better-sqlite3 directly: trailing limits written into the statement's text, the
// bounds of its statement caches, and waits for another connection's write lock that leave the event loop free.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql, type Generated } from 'kysely';
import { BetterSqliteDialect, BetterSqliteDriver, type SqliteDriverLimits } from '../../src/storage/sqlite-driver.js';

interface Tables {
  items: { id: Generated<number>; name: string };
}

function open(file: string, limits: Partial<SqliteDriverLimits> = {}) {
  // No busy handler of SQLite's own (better-sqlite3 sets one by default): the driver's wait is what is tested.
  const sqlite = new BetterSqlite3(file, { timeout: 0 });
  sqlite.pragma('journal_mode = WAL');
  const driver = new BetterSqliteDriver(sqlite, limits);
  const db = new Kysely<Tables>({ dialect: new BetterSqliteDialect(driver) });
  return { sqlite, driver, db };
}

describe('statements', () => {
  const { sqlite, driver, db } = open(':memory:', { maxStatements: 3, maxLimitVariants: 2 });
  before(() => {
    sqlite.exec('create table items (id integer primary key, name text not null)');
    const insert = sqlite.prepare('insert into items (id, name) values (?, ?)');
    for (let i = 1; i <= 9; i++) insert.run(i, `item-${i}`);
  });
  after(() => sqlite.close());

  test('a trailing limit and offset written into the text give the rows the bound ones give', async () => {
    const bound = sqlite.prepare('select id, name from items where id > ? order by id limit ? offset ?');
    const page = (after: number, limit: number, offset: number) => db.selectFrom('items').select(['id', 'name']).where('id', '>', after).orderBy('id').limit(limit).offset(offset);
    assert.match(page(0, 1, 0).compile().sql, / limit \? offset \?$/);
    // More distinct limits than the driver keeps variants of: past the bound the values are bound as before.
    for (const [after, limit, offset] of [
      [0, 3, 0],
      [0, 3, 2],
      [4, 5, 0],
      [0, 1, 8],
      [2, 4, 1],
      [0, 3, 0],
      [0, 20, 0],
      [9, 2, 0],
    ]) {
      const expected = bound.all(after, limit, offset);
      const { sql: text, parameters } = page(after, limit, offset).compile();
      assert.deepEqual(await page(after, limit, offset).execute(), expected, `through Kysely: ${after} ${limit} ${offset}`);
      assert.deepEqual(await driver.run(text, parameters), expected, `straight: ${after} ${limit} ${offset}`);
    }
    const first = (limit: number) => db.selectFrom('items').select('id').orderBy('id').limit(limit);
    for (const limit of [1, 4, 2, 9]) assert.deepEqual(await first(limit).execute(), sqlite.prepare('select id from items order by id limit ?').all(limit));
  });

  test('rows read as arrays come out as the objects better-sqlite3 makes', async () => {
    const text = 'select id, name, name as label, id * 2 as twice from items where id <= ? order by id';
    assert.deepEqual(await driver.run(text, [3]), sqlite.prepare(text).all(3));
    assert.deepEqual(await driver.run('update items set name = name where id = ?', [1]), [], 'a statement without rows answers none');
  });

  test('keeps at most its bound of statements per row mode, and runs the rest all the same', async () => {
    for (let i = 1; i <= 6; i++) {
      const text = `select id from items where id = ? and ${i} = ${i}`;
      assert.deepEqual(await driver.run(text, [i]), [{ id: i }]);
      assert.deepEqual((await sql<{ id: number }>`select id from items where id = ${i} and ${sql.raw(`${i} = ${i}`)}`.execute(db)).rows, [{ id: i }]);
    }
    assert.deepEqual(driver.connection.cachedStatements, { objects: 3, arrays: 3 });
  });
});

describe("another connection's write lock", () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-driver-'));
    file = join(dir, 'locks.db');
    const setup = new BetterSqlite3(file);
    setup.pragma('journal_mode = WAL');
    setup.exec('create table items (id integer primary key, name text not null)');
    setup.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Another process's connection, holding the write lock until `release` is called. */
  function otherWriter() {
    const other = new BetterSqlite3(file, { timeout: 0 });
    other.exec('begin immediate');
    other.exec("insert into items (name) values ('other')");
    return {
      release: () => {
        other.exec('commit');
        other.close();
      },
    };
  }

  /** Holds the lock until a timer set now has fired: a wait that stopped the event loop would never see it free. */
  function releasedByTimer() {
    const other = otherWriter();
    const fired = { yes: false };
    setTimeout(() => {
      fired.yes = true;
      other.release();
    }, 20);
    return fired;
  }

  test('a straight statement, one through Kysely and a transaction each wait for it with the event loop free', async () => {
    const { sqlite, driver, db } = open(file);
    try {
      let fired = releasedByTimer();
      await driver.run("insert into items (name) values ('straight')", []);
      assert.ok(fired.yes, 'the timer fired while the statement waited');

      fired = releasedByTimer();
      await db.insertInto('items').values({ name: 'kysely' }).execute();
      assert.ok(fired.yes);

      fired = releasedByTimer();
      await db.transaction().execute((trx) => trx.insertInto('items').values({ name: 'transaction' }).execute());
      assert.ok(fired.yes, 'BEGIN IMMEDIATE waited');

      const names = (await db.selectFrom('items').select('name').orderBy('id').execute()).map((r) => r.name);
      assert.deepEqual(names, ['other', 'straight', 'other', 'kysely', 'other', 'transaction']);
    } finally {
      await db.destroy();
      if (sqlite.open) sqlite.close();
    }
  });

  test('fails with SQLITE_BUSY once the lock has been held past the wait', async () => {
    const { sqlite, driver, db } = open(file, { busyTimeoutMs: 30 });
    const other = otherWriter();
    try {
      await assert.rejects(async () => driver.run("insert into items (name) values ('late')", []), { code: 'SQLITE_BUSY' });
      await assert.rejects(db.insertInto('items').values({ name: 'late' }).execute(), { code: 'SQLITE_BUSY' });
      await assert.rejects(
        db.transaction().execute(async () => {}),
        { code: 'SQLITE_BUSY' },
      );
    } finally {
      other.release();
      await db.destroy();
      if (sqlite.open) sqlite.close();
    }
  });

  test("a straight statement waits for this process's open transaction, which runs its own statements", async () => {
    const { sqlite, driver, db } = open(file);
    try {
      const count = 'select count(*) as n from items where name = ?';
      let proceed!: () => void;
      const paused = new Promise<void>((resolve) => (proceed = resolve));
      let inserted!: () => void;
      const pending = new Promise<void>((resolve) => (inserted = resolve));
      const transaction = db.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ name: 'pending' }).execute();
        inserted();
        await paused;
        return (await sql<{ n: number }>`select count(*) as n from items where name = ${'pending'}`.execute(trx)).rows[0].n;
      });
      await pending;
      const outside = driver.run(count, ['pending']);
      assert.ok(outside instanceof Promise, 'queued behind the transaction');
      proceed();
      assert.equal(await transaction, 1);
      assert.deepEqual(await outside, [{ n: 1 }], 'ran after the commit, not inside the transaction');
    } finally {
      await db.destroy();
      if (sqlite.open) sqlite.close();
    }
  });
});
