// The admin keys an App holds: configured ones at once, stored ones read once, unknown ones asked for again each time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminKeys } from '../../src/admin-keys.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { openSqlite } from '../../src/storage/sqlite.js';
import type { Storage } from '../../src/storage/storage.js';

const secrets = new SecretBox(Buffer.alloc(32, 3));
let dir: string;
let storage: Storage;

const store = (accessKeyId: string, secretAccessKey: string) =>
  storage.db
    .insertInto('access_keys')
    .values({ access_key_id: accessKeyId, secret_ciphertext: secrets.seal(secretAccessKey), created_at: 0 })
    .execute();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-admin-keys-'));
  storage = await openSqlite(join(dir, 'gatehouse.db'));
  await store('AKIASTORED', 'stored secret');
  await store('AKIABOTH', 'stored, not used');
});

after(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('AdminKeys', () => {
  test('a configured key is answered at once, the same object every time; the first of a repeated id and a configured key over a stored one win', async () => {
    const keys = new AdminKeys(
      [
        { accessKeyId: 'AKIACONFIGURED', secretAccessKey: 'first' },
        { accessKeyId: 'AKIACONFIGURED', secretAccessKey: 'second' },
        { accessKeyId: 'AKIABOTH', secretAccessKey: 'configured' },
      ],
      storage,
      secrets,
    );
    const found = keys.lookup('AKIACONFIGURED');
    assert.ok(!(found instanceof Promise));
    assert.equal(found.secretAccessKey, 'first');
    assert.equal(keys.lookup('AKIACONFIGURED'), found);
    assert.equal((keys.lookup('AKIABOTH') as { secretAccessKey: string }).secretAccessKey, 'configured');
  });

  test('a stored key is read and decrypted once, then answered at once as the same object', async () => {
    const keys = new AdminKeys([], storage, secrets);
    const first = keys.lookup('AKIASTORED');
    assert.ok(first instanceof Promise, 'the first lookup reads the database');
    const secret = await first;
    assert.equal(secret?.secretAccessKey, 'stored secret');
    assert.equal(keys.lookup('AKIASTORED'), secret);
  });

  test('an unknown key is looked up again each time, so one stored later (by another process) is found', async () => {
    const keys = new AdminKeys([], storage, secrets);
    assert.equal(await keys.lookup('AKIALATER'), undefined);
    await store('AKIALATER', 'later secret');
    assert.equal((await keys.lookup('AKIALATER'))?.secretAccessKey, 'later secret');
  });
});
