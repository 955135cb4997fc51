// The one line an operator reads when the data directory or the database cannot be used: the path and the cause in
// plain words, with the system's or SQLite's own words in brackets for searching, never a stack trace.
import { dirname } from 'node:path';

/** An error whose message is complete as it stands: the CLI prints it as one line, nothing more. */
export class OpenError extends Error {}

/** What to check, naming the user the process runs as (an operator may not know which one a service runs as). */
const needs = (dir = 'the data directory') => `the user running Gatehouse${process.getuid ? ` (uid ${process.getuid()})` : ''} needs to read and write ${dir} and the files in it`;

/** Describes a failure to open the SQLite database `file`, or returns undefined for an error of another kind. */
export function explainSqliteError(err: unknown, file: string): OpenError | undefined {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  const { message } = err as Error;
  if (code.startsWith('SQLITE_READONLY')) {
    // SQLite opens a file it may not write read-only, and says so at the first write; a data directory it may not
    // write has the same effect, as the -wal and -shm files beside the database cannot be made.
    return new OpenError(`the database ${file} is read-only to this process (${message}): ${needs(dirname(file))}`);
  }
  if (code.startsWith('SQLITE_CANTOPEN')) return new OpenError(`cannot open the database ${file} (${message}): ${needs(dirname(file))}`);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') return new OpenError(`${file} is not a usable Gatehouse database (${message})`);
  return new OpenError(`the database ${file}: ${message}`);
}

const CAUSES: Record<string, () => string> = {
  EACCES: () => `permission denied: ${needs()}`,
  EPERM: () => `operation not permitted: ${needs()}`,
  ENOTDIR: () => 'a part of that path is a file, not a directory',
  EROFS: () => 'it is on a read-only file system',
  ENOSPC: () => 'no space left on the device',
  EISDIR: () => 'it is a directory',
  ENOENT: () => 'no such file or directory',
};

/**
 * Describes a system error of opening files or listening (it names the path or the address), or returns undefined
 * for any other error.
 */
export function explainSystemError(err: unknown): OpenError | undefined {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (!e || typeof e.code !== 'string') return undefined;
  if (e.code === 'EADDRINUSE') {
    const where = e.port !== undefined ? `${e.address ?? ''}:${e.port}` : 'the address';
    return new OpenError(`cannot listen on ${where}: something is already listening there (EADDRINUSE); stop it, or choose another port with --port (or GATEHOUSE_PORT)`);
  }
  if (e.code === 'EADDRNOTAVAIL' && e.address !== undefined) {
    return new OpenError(`cannot listen on ${e.address}: no network interface of this machine has that address (EADDRNOTAVAIL); choose another with --host (or GATEHOUSE_HOST)`);
  }
  const cause = CAUSES[e.code];
  if (!cause || !e.path) return undefined;
  // stat is how the data directory is first looked at; "cannot stat" says less to an operator than "cannot use".
  const verb = !e.syscall || e.syscall === 'stat' ? 'use' : e.syscall;
  return new OpenError(`cannot ${verb} ${e.path}: ${cause()} (${e.code})`);
}
