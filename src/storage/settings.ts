// The settings table: one value per key, for what the server makes once and keeps (its keys, its organization).
import type { Db } from './storage.js';

export async function readSetting(db: Db, key: string): Promise<string | undefined> {
  return (await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value;
}

/**
 * The setting `key`, made by `make` when there is none yet. Several processes may start at once: the first value
 * stored wins, and every process reads that one back, so all of them use the same.
 */
export async function settingOnce(db: Db, key: string, make: () => string | Promise<string>): Promise<string> {
  const found = await readSetting(db, key);
  if (found !== undefined) return found;
  const value = await make();
  await db
    .insertInto('settings')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  return (await readSetting(db, key)) ?? value;
}
