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
    /** 'busy' because the request's source holds its share of the budget, not because the process holds all of it. */
    readonly sourceShare = false,
  ) {
    super(`request body ${reason}`);
  }
}

/** A refused body is thrown away up to this many bytes, then the connection is closed. */
export const DISCARD_MAX = 8 * 1024 * 1024;

const NO_BODY = Buffer.alloc(0);

/**
 * The body bytes all requests of this process hold at once, and each source's part of them: one source (an address,
 * or an IPv6 /64) may hold at most `maxPerSource`, so that slow bodies from one place cannot take the whole budget.
 * A source holding nothing may always start one body (up to its route's figure, which may be larger).
 */
export class BodyBudget {
  held = 0;
  private readonly bySource = new Map<string, number>();
  constructor(
    readonly max: number,
    readonly maxPerSource = max,
  ) {}

  heldBy(source: string): number {
    return this.bySource.get(source) ?? 0;
  }

  add(source: string | undefined, bytes: number): void {
    this.held += bytes;
    if (source === undefined) return;
    const n = (this.bySource.get(source) ?? 0) + bytes;
    if (n <= 0) this.bySource.delete(source);
    else this.bySource.set(source, n);
  }
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

/** Whether a request carries a body (RFC 9112 §6.3: without Content-Length or Transfer-Encoding it has none). */
export const hasBody = (req: IncomingMessage): boolean => {
  const declared = declaredLength(req);
  return declared === undefined ? req.headers['transfer-encoding'] !== undefined : declared > 0;
};

/**
 * `accept` runs when the body is going to be read: a client that sent `Expect: 100-continue` is told to send it then.
 * `source` is whose share of the budget the body counts against; undefined for a configured proxy (it carries
 * everybody's requests).
 */
export function readBody(req: IncomingMessage, limit: number, budget: BodyBudget, watch: IdleWatch, accept?: () => void, source?: string): Promise<ReadBody> {
  const declared = declaredLength(req);
  if (!hasBody(req)) return Promise.resolve(nothingHeld);
  if (declared !== undefined && declared > limit) return Promise.reject(new BodyRefused('too-large', 0));
  if (budget.held + (declared ?? 1) > budget.max) return Promise.reject(new BodyRefused('busy', 0));
  const sourceHeld = source === undefined ? 0 : budget.heldBy(source);
  if (sourceHeld > 0 && sourceHeld + (declared ?? 1) > budget.maxPerSource) return Promise.reject(new BodyRefused('busy', 0, true));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      budget.add(source, -size);
    };
    const watched = { last: Date.now(), fail: () => fail('idle') };
    const fail = (reason: BodyRefusal, sourceShare = false) => {
      if (settled) return;
      settled = true;
      cleanup();
      release();
      chunks.length = 0;
      reject(new BodyRefused(reason, size, sourceShare));
    };
    const onData = (c: Buffer) => {
      size += c.length;
      budget.add(source, c.length);
      if (size > limit) return fail('too-large');
      if (budget.held > budget.max) return fail('busy');
      // Past its share only with other bodies of its own: one body alone may be as large as its route allows.
      if (source !== undefined && budget.heldBy(source) > Math.max(budget.maxPerSource, size)) return fail('busy', true);
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
