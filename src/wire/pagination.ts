// Opaque, tamper-evident page tokens. A token carries the keyset position after the last item of a page (so rows
// inserted between pages neither repeat nor hide others) and is bound by HMAC to the list it came from.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { invalidNextToken } from './errors.js';

/** Characters of a base64url HMAC-SHA256. */
const MAC_LENGTH = 43;

export class PageTokens {
  constructor(private readonly key: Buffer) {}

  private mac(scope: string, payload: string): string {
    return createHmac('sha256', this.key).update(`${scope}\0${payload}`).digest('base64url');
  }

  /**
   * One page of a keyset-paginated list. `fetch(after, limit)` returns up to `limit` rows whose key is past `after`,
   * in key order; the NextToken, absent on the last page, carries the key of the page's last row.
   */
  async page<R>(
    scope: string,
    input: { MaxResults?: number; NextToken?: string },
    fetch: (after: string | undefined, limit: number) => Promise<R[]>,
    key: (row: R) => string,
    /** The error a forged or foreign token gets: the service's own client error (sso has no ValidationException). */
    errorCode?: string,
  ): Promise<{ items: R[]; NextToken?: string }> {
    const size = pageSize(input.MaxResults);
    const after = input.NextToken ? this.open<Position>(scope, input.NextToken, errorCode).after : undefined;
    const rows = await fetch(after, size + 1);
    const items = rows.slice(0, size);
    return { items, ...(rows.length > size ? { NextToken: this.seal(scope, { after: key(items[items.length - 1]) }) } : {}) };
  }

  /** The MAC of `value` alone, under the same key: a value the server can later recognise as bound to `value`. */
  tag(scope: string, value: string): string {
    return this.mac(scope, value);
  }

  /** `scope` names the list and its filters, so a token from one list is refused by another. */
  seal(scope: string, position: unknown): string {
    const payload = Buffer.from(JSON.stringify(position)).toString('base64url');
    // Only base64url characters, which every model's NextToken pattern allows; the MAC has a fixed length, so it
    // needs no separator.
    return payload + this.mac(scope, payload);
  }

  open<T>(scope: string, token: string, errorCode = 'ValidationException'): T {
    const payload = token.slice(0, -MAC_LENGTH);
    const mac = token.slice(-MAC_LENGTH);
    const expected = this.mac(scope, payload);
    if (!payload || mac.length !== MAC_LENGTH || !timingSafeEqual(Buffer.from(mac), Buffer.from(expected))) {
      throw invalidNextToken(errorCode);
    }
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T;
    } catch {
      throw invalidNextToken(errorCode);
    }
  }
}

/** A page position: the sort key of the last item on the previous page. */
interface Position {
  after: string;
}

/**
 * The scope a list's page tokens are bound to: the service, the operation, and the input values that choose which
 * rows the list holds (an absent one as empty), so that a token from one list, or from the same list under other
 * filters, is refused by every other. The values are joined with NUL, which no validated input contains.
 */
export function pageScope(service: string, operation: string, ...filters: (string | undefined)[]): string {
  return `${service}:${operation}:${filters.map((f) => f ?? '').join('\0')}`;
}

/** Page size: the caller's MaxResults, else the service default. */
export const pageSize = (maxResults: number | undefined, fallback = 100) => maxResults ?? fallback;
