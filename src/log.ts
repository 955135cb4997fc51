// Structured logs, one JSON line per event. Secrets never reach a log call: request lines carry the operation,
// status, duration and request id only.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}
