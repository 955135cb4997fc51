// The data directory holds what nobody but the server's own user may read: the SQLite database (password hashes,
// personal data, the page-token key) with its -wal and -shm files, and encryption.key. The directory is made 0700 and
// its files 0600 whatever the umask, and a directory that others can enter is refused, as PostgreSQL refuses its own.
import { chmodSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

/**
 * Creates the data directory (0700) if it is missing; refuses one that its group or others may access unless
 * `allowShared` (GATEHOUSE_ALLOW_SHARED_DATA_DIR) says the operator chose that.
 */
export function secureDataDir(dir: string, allowShared: boolean): void {
  let mode: number;
  try {
    mode = statSync(dir).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode passes through the umask, which can only take bits away; set it exactly all the same.
    chmodSync(dir, 0o700);
    return;
  }
  if ((mode & constants.S_IFMT) !== constants.S_IFDIR) throw new Error(`data directory "${dir}" is not a directory`);
  if (mode & 0o077 && !allowShared) {
    throw new Error(
      `data directory "${dir}" has invalid permissions ${octal(mode)}: it should be u=rwx (0700); ` + `run chmod 700 ${dir} (or set GATEHOUSE_ALLOW_SHARED_DATA_DIR=1 to allow it)`,
    );
  }
}

/**
 * Makes `file` exist with mode 0600 before anything writes to it. SQLite gives the -wal and -shm files it creates the
 * database file's mode, so making the database 0600 first covers them too. A file made by an earlier version with a
 * wider mode is narrowed; one owned by another user is left as it is (its owner decides).
 */
export function privateFile(file: string): void {
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
  closeSync(fd);
  narrow(file);
}

/** Narrows an existing file to 0600; nothing when it is missing or not ours to change. */
export function narrow(file: string): void {
  try {
    if (statSync(file).mode & 0o077) chmodSync(file, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EPERM') throw err;
  }
}
