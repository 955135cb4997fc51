// Structured logs, one JSON line per event. Secrets never reach a log call: request lines carry the operation,
// status, duration and request id only.
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

export function createLogger(level: string): Logger {
  return pino({ level, base: undefined, timestamp: isoTimeOncePerMillisecond() });
}
