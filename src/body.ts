// Reading request bodies within limits. A body is read only once the request's route is known, up to the largest
// body that route can carry, while the bytes every request of this process holds stay within one budget, and never
// slower than the idle timeout allows (IdleWatch). Whatever is refused is read on and thrown away (up to
// DISCARD_MAX), so the client, still sending, gets to read the answer instead of a reset connection.
import type { IncomingMessage } from 'node:http';

/** Why a body was not read. */
export type BodyRefusal = 'too-large' | 'busy' | 'idle' | 'aborted';

export class BodyRefused extends Error {
  constructor(
    readonly reason: BodyRefusal,
    /** Bytes received before the refusal. */
    readonly received: number,
  ) {
    super(`request body ${reason}`);
  }
}

/** A refused body is thrown away up to this many bytes, then the connection is closed. */
export const DISCARD_MAX = 8 * 1024 * 1024;

const NO_BODY = Buffer.alloc(0);

/** The body bytes all requests of this process hold at once. */
export class BodyBudget {
  held = 0;
  constructor(readonly max: number) {}
}

/**
 * The bodies still arriving, each failed once it has paused longer than the idle timeout. One timer looks at them
 * all a few times per timeout, instead of a timer per request: under load, arming and clearing a timer for every
 * request costs more than the check. The timer stops when a look finds nothing arriving.
 */
export class IdleWatch {
  private readonly arriving = new Set<{ last: number; fail(): void }>();
  private timer?: NodeJS.Timeout;
  constructor(readonly idleMs: number) {}

  add(read: { last: number; fail(): void }) {
    this.arriving.add(read);
    if (!this.timer) {
      this.timer = setInterval(() => this.look(), Math.max(50, Math.min(1000, this.idleMs / 4)));
      this.timer.unref();
    }
  }

  delete(read: { last: number; fail(): void }) {
    this.arriving.delete(read);
  }

  private look() {
    if (this.arriving.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = Date.now();
    for (const read of this.arriving) if (now - read.last > this.idleMs) read.fail();
  }
}

/** A body that was read, with its share of the budget, given back once its request is answered. */
export interface ReadBody {
  body: Buffer;
  release(): void;
}

const nothingHeld = { body: NO_BODY, release() {} };

/** The declared Content-Length, when there is one (Node has checked that it is a number). */
export function declaredLength(req: IncomingMessage): number | undefined {
  const text = req.headers['content-length'];
  return text === undefined ? undefined : Number(text);
}

/** `accept` runs when the body is going to be read: a client that sent `Expect: 100-continue` is told to send it then. */
export function readBody(req: IncomingMessage, limit: number, budget: BodyBudget, watch: IdleWatch, accept?: () => void): Promise<ReadBody> {
  const declared = declaredLength(req);
  // A request without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3).
  if (declared === 0 || (declared === undefined && req.headers['transfer-encoding'] === undefined)) return Promise.resolve(nothingHeld);
  if (declared !== undefined && declared > limit) return Promise.reject(new BodyRefused('too-large', 0));
  if (budget.held + (declared ?? 1) > budget.max) return Promise.reject(new BodyRefused('busy', 0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      budget.held -= size;
    };
    const watched = { last: Date.now(), fail: () => fail('idle') };
    const fail = (reason: BodyRefusal) => {
      if (settled) return;
      settled = true;
      cleanup();
      release();
      chunks.length = 0;
      reject(new BodyRefused(reason, size));
    };
    const onData = (c: Buffer) => {
      size += c.length;
      budget.held += c.length;
      if (size > limit) return fail('too-large');
      if (budget.held > budget.max) return fail('busy');
      chunks.push(c);
      watched.last = Date.now();
    };
    const onEnd = () => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve({ body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), release });
    };
    // 'close' before 'end': the client went away (or a server timeout closed the connection).
    const onClose = () => fail('aborted');
    const onError = () => fail('aborted');
    const cleanup = () => {
      watch.delete(watched);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onError);
    };
    watch.add(watched);
    accept?.();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onError);
  });
}

/**
 * Reads the rest of a refused body and throws it away, so that the answer reaches a client that is still sending;
 * past DISCARD_MAX bytes, or a pause of idleMs, the connection is closed instead.
 */
export function discardBody(req: IncomingMessage, idleMs: number): void {
  if (req.complete || req.destroyed) return;
  let discarded = 0;
  const idle = setTimeout(() => req.destroy(), idleMs);
  req.on('data', (c: Buffer) => {
    discarded += c.length;
    if (discarded > DISCARD_MAX) {
      clearTimeout(idle);
      req.destroy();
    } else idle.refresh();
  });
  req.once('end', () => clearTimeout(idle));
  req.once('close', () => clearTimeout(idle));
  req.on('error', () => {});
  req.resume();
}
