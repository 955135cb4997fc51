// Faults the caller sees only as an internal error, logged for the operator. Apart from src/log.ts so that the
// supervising process, which logs but never serves, does not load the storage code.
import type { Logger } from './log.js';
import { isOutOfSpace } from './storage/storage.js';

/**
 * A fault that reaches the caller as a plain internal error. A full disk is the operator's to fix and passes once
 * space is freed: one clear line without a stack. Anything else is logged with its stack.
 */
export function logFault(log: Logger, requestId: unknown, err: unknown, msg: string) {
  if (isOutOfSpace(err)) log.error({ requestId, code: (err as { code?: string }).code }, 'database storage is full: writes fail until space is freed');
  else log.error({ requestId, err }, msg);
}
