// Structured logs, one JSON line per event, with the level as a word ("info", "warn"). Secrets never reach a log
// call: request lines carry the operation, status, duration and request id only; audit lines (audit()) name who did
// what to which resource.
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * pino's ISO timestamp, formatted once per millisecond: a busy server writes many lines in the same millisecond, and
 * formatting a date costs as much as the rest of the line.
 */
function isoTimeOncePerMillisecond(): () => string {
  let last = -1;
  let text = '';
  return () => {
    const now = Date.now();
    if (now !== last) {
      last = now;
      text = `,"time":"${new Date(now).toISOString()}"`;
    }
    return text;
  };
}

interface LineWriter {
  time: () => string;
  write: (line: string) => void;
}

/** Where a logger made by createLogger keeps the stream its lines go to: on the logger itself. */
const LINE_WRITER = Symbol('line writer');

interface RequestLogger extends Logger {
  [LINE_WRITER]?: LineWriter;
}

/** Where log lines go: standard output unless given (a test's sink). */
export interface LogDestination {
  write(line: string): void;
}

export function createLogger(level: string, to?: LogDestination): Logger {
  const time = isoTimeOncePerMillisecond();
  // Asynchronous writes (pino's default for stdout): lines queue in memory while a write is in flight. Each write is
  // whole lines of at most PIPE_BUF (4 KiB), which a pipe keeps whole while other worker processes write to it too.
  const destination = to ?? pino.destination({ dest: 1, sync: false, maxWrite: 4096 });
  // The level as a word: an operator filtering with jq or journalctl reads "warn", not 40.
  const logger = pino({ level, base: undefined, timestamp: time, formatters: { level: (label) => ({ level: label }) } }, destination);
  (logger as RequestLogger)[LINE_WRITER] = { time, write: (line) => destination.write(line) };
  return logger;
}

/** What the request line of every request says. */
export interface RequestLine {
  requestId: string;
  service?: string;
  operation?: string;
  method: string;
  path: string;
  status: number;
  error?: string;
  ms: number;
}

const INFO = 30;

/**
 * Writes a request's line. Every request writes one, so the line, whose fields are always the same, is put together
 * here rather than by pino's generic object serializer, which costs several times as much; it comes out as pino
 * would write it. A logger made elsewhere (a test's) gets the same fields through pino.
 */
export function logRequest(log: Logger, line: RequestLine): void {
  // Its own only: a child logger (pino makes them with Object.create) would reach its parent's, without its bindings.
  const writer = Object.hasOwn(log, LINE_WRITER) ? (log as RequestLogger)[LINE_WRITER] : undefined;
  if (!writer) {
    log.info(line, 'request');
    return;
  }
  if (log.levelVal > INFO) return;
  writer.write(
    `{"level":"info"${writer.time()},"requestId":${JSON.stringify(line.requestId)}` +
      (line.service === undefined ? '' : `,"service":${JSON.stringify(line.service)}`) +
      (line.operation === undefined ? '' : `,"operation":${JSON.stringify(line.operation)}`) +
      `,"method":${JSON.stringify(line.method)},"path":${JSON.stringify(line.path)},"status":${line.status}` +
      (line.error === undefined ? '' : `,"error":${JSON.stringify(line.error)}`) +
      `,"ms":${line.ms},"msg":"request"}\n`,
  );
}

/**
 * What an operator must be able to trace, one line each, filtered by `"audit":"<event>"` (docs/deployment.md,
 * "Audit lines"). Fields name people, clients, keys and resources; never a password, secret or token.
 */
export type AuditEvent =
  | 'sign-in.succeeded'
  | 'sign-in.failed'
  | 'device.allowed'
  | 'device.denied'
  | 'authorization.allowed'
  | 'authorization.denied'
  | 'credentials.issued'
  | 'admin-api.write';

export function audit(log: Logger, event: AuditEvent, fields: Record<string, string | number | boolean | Record<string, string> | undefined>): void {
  log.info({ audit: event, ...fields }, 'audit');
}

/** A log line that a flood would repeat thousands of times, written once per 10 s burst (with the first call's arguments). */
export function oncePerBurst<A extends unknown[]>(write: (...args: A) => void): (...args: A) => void {
  let quiet = true;
  return (...args: A) => {
    if (!quiet) return;
    quiet = false;
    write(...args);
    setTimeout(() => (quiet = true), 10_000).unref();
  };
}
