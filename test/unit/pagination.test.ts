// Page tokens: sealed positions that only the list they came from accepts back, and keyset pages built on them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { identityStoreModel } from '../../src/generated/identitystore.js';
import type { StringShape } from '../../src/wire/model.js';
import { ServiceError } from '../../src/wire/errors.js';
import { PageTokens, pageScope, pageSize } from '../../src/wire/pagination.js';
import { compilePattern } from '../../src/wire/validate.js';

const KEY = Buffer.alloc(32, 7);
const tokens = new PageTokens(KEY);
const SCOPE = 'ListUsers d-1234567890';

function assertRefused(fn: () => unknown, code = 'ValidationException') {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ServiceError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.message, 'The NextToken is invalid or does not belong to this request.');
    return true;
  });
}

/** The token with one character changed at `i` (to another base64url character). */
/** Asks for the page after `nextToken` under `scope`, which must be refused before the rows are read. */
async function refusedUnread(scope: string, nextToken: string | undefined) {
  let read = false;
  await assert.rejects(
    tokens.page(
      scope,
      { NextToken: nextToken },
      async () => {
        read = true;
        return [];
      },
      (r: { id: string }) => r.id,
    ),
    { code: 'ValidationException' },
  );
  assert.equal(read, false);
}

const flip = (token: string, i: number) => token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);

describe('seal and open', () => {
  test('a position comes back as it was sealed', () => {
    for (const position of [{ after: 'user-0001' }, { after: 'ünïcödé 東京 \u{1F600}' }, { code: 'BCDFGHJK', until: 1440938160000 }, [1, 'two', null]]) {
      assert.deepEqual(tokens.open(SCOPE, tokens.seal(SCOPE, position)), position);
    }
  });

  test('tokens use only characters every model NextToken pattern allows', () => {
    const nextToken = compilePattern((identityStoreModel.shapes.NextToken as StringShape).pattern!);
    const token = tokens.seal(SCOPE, { after: 'a/b+c=d?e&f\0' });
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.ok(nextToken.test(token));
  });

  test('a token from another list (scope) is refused', () => {
    const token = tokens.seal(SCOPE, { after: 'x' });
    assertRefused(() => tokens.open('ListUsers d-0987654321', token));
    assertRefused(() => tokens.open('ListGroups d-1234567890', token));
  });

  test('a token sealed under another key is refused', () => {
    const token = new PageTokens(Buffer.alloc(32, 8)).seal(SCOPE, { after: 'x' });
    assertRefused(() => tokens.open(SCOPE, token));
  });

  test('any changed character is refused, in the payload or in the MAC', () => {
    const token = tokens.seal(SCOPE, { after: 'user-0001' });
    for (let i = 0; i < token.length; i++) assertRefused(() => tokens.open(SCOPE, flip(token, i)));
  });

  test('truncated, extended, empty and foreign tokens are refused', () => {
    const token = tokens.seal(SCOPE, { after: 'user-0001' });
    for (const bad of [token.slice(1), token.slice(0, -1), `${token}A`, `A${token}`, '', 'x', 'A'.repeat(43), 'A'.repeat(44), 'not a token at all!']) {
      assertRefused(() => tokens.open(SCOPE, bad));
    }
  });

  test('a payload with a valid MAC that is not JSON is refused as invalid, not thrown as a SyntaxError', () => {
    const payload = Buffer.from('{not json').toString('base64url');
    assertRefused(() => tokens.open(SCOPE, payload + tokens.tag(SCOPE, payload)));
  });

  test("the error code is the caller's choice (services differ)", () => {
    assertRefused(() => tokens.open(SCOPE, 'garbage', 'InvalidNextTokenException'), 'InvalidNextTokenException');
  });

  test('tag: the same value and scope give the same tag; another scope or value another', () => {
    assert.equal(tokens.tag('s', 'v'), tokens.tag('s', 'v'));
    assert.notEqual(tokens.tag('s', 'v'), tokens.tag('t', 'v'));
    assert.notEqual(tokens.tag('s', 'v'), tokens.tag('s', 'w'));
    assert.equal(tokens.tag('s', 'v').length, 43);
  });
});

describe('keyset pages', () => {
  const rows = Array.from({ length: 25 }, (_, i) => ({ id: `u${String(i).padStart(3, '0')}` }));
  /** A table read as the storage layer reads it: rows past `after`, in key order, up to `limit`. */
  const fetchFrom = (table: { id: string }[]) => async (after: string | undefined, limit: number) => table.filter((r) => after === undefined || r.id > after).slice(0, limit);

  test('pages cover every row once, and the last page has no NextToken', async () => {
    const seen: string[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await tokens.page(SCOPE, { MaxResults: 10, NextToken }, fetchFrom(rows), (r) => r.id);
      seen.push(...page.items.map((r) => r.id));
      NextToken = page.NextToken;
      pages++;
    } while (NextToken);
    assert.equal(pages, 3);
    assert.deepEqual(
      seen,
      rows.map((r) => r.id),
    );
  });

  test('exactly a page of rows: no NextToken, and one more row is asked for to know that', async () => {
    const limits: number[] = [];
    const page = await tokens.page(
      SCOPE,
      { MaxResults: 25 },
      (after, limit) => (limits.push(limit), fetchFrom(rows)(after, limit)),
      (r) => r.id,
    );
    assert.equal(page.items.length, 25);
    assert.equal(page.NextToken, undefined);
    assert.deepEqual(limits, [26]);
  });

  test('rows inserted between pages neither repeat nor hide the rest', async () => {
    const table = [...rows];
    const first = await tokens.page(SCOPE, { MaxResults: 10 }, fetchFrom(table), (r) => r.id);
    table.unshift({ id: 'a-before-everything' });
    table.push({ id: 'u005x' });
    table.sort((a, b) => (a.id < b.id ? -1 : 1));
    const second = await tokens.page(SCOPE, { MaxResults: 10, NextToken: first.NextToken }, fetchFrom(table), (r) => r.id);
    assert.deepEqual(
      second.items.map((r) => r.id),
      ['u010', 'u011', 'u012', 'u013', 'u014', 'u015', 'u016', 'u017', 'u018', 'u019'],
    );
  });

  test('a NextToken from another list is refused before anything is read', async () => {
    const first = await tokens.page(SCOPE, { MaxResults: 10 }, fetchFrom(rows), (r) => r.id);
    await refusedUnread('ListGroups d-1234567890', first.NextToken);
  });

  test('pageSize: MaxResults when given, else the default', () => {
    assert.equal(pageSize(undefined), 100);
    assert.equal(pageSize(undefined, 20), 20);
    assert.equal(pageSize(7), 7);
  });
});

describe('pageScope', () => {
  const sealed = (scope: string) => tokens.seal(scope, { after: 'x' });

  test('the same list under the same filters accepts its own token', () => {
    const scope = pageScope('sso-admin', 'ListAccountAssignments', 'arn:aws:sso:::instance/ssoins-1', '111122223333', 'arn:aws:sso:::permissionSet/ssoins-1/ps-1');
    assert.deepEqual(tokens.open(scope, sealed(scope)), { after: 'x' });
    assert.equal(scope, pageScope('sso-admin', 'ListAccountAssignments', 'arn:aws:sso:::instance/ssoins-1', '111122223333', 'arn:aws:sso:::permissionSet/ssoins-1/ps-1'));
  });

  test('a token from another operation, or the same operation of another service, is refused', () => {
    const token = sealed(pageScope('identitystore', 'ListGroupMemberships', 'd-1234567890', 'g-1'));
    assertRefused(() => tokens.open(pageScope('identitystore', 'ListGroupMembershipsForMember', 'd-1234567890', 'g-1'), token));
    assertRefused(() => tokens.open(pageScope('sso-admin', 'ListGroupMemberships', 'd-1234567890', 'g-1'), token));
  });

  test('a token from the same list under another filter is refused', () => {
    const token = sealed(pageScope('identitystore', 'ListUsers', 'd-1234567890', 'alice'));
    assertRefused(() => tokens.open(pageScope('identitystore', 'ListUsers', 'd-1234567890', 'bob'), token));
    assertRefused(() => tokens.open(pageScope('identitystore', 'ListUsers', 'd-1234567890', undefined), token));
    assertRefused(() => tokens.open(pageScope('identitystore', 'ListUsers', 'd-0987654321', 'alice'), token));
  });

  test('filter values cannot be shifted from one member to another, even with the old separator in them', () => {
    const scopes = [
      pageScope('sso-admin', 'ListAccountAssignmentsForPrincipal', 'arn:aws:sso:::instance/ssoins-1', 'USER', 'u-1', undefined),
      pageScope('sso-admin', 'ListAccountAssignmentsForPrincipal', 'arn:aws:sso:::instance/ssoins-1:USER', 'u-1', '', undefined),
      pageScope('sso-admin', 'ListAccountAssignmentsForPrincipal', 'arn:aws:sso:::instance/ssoins-1', 'USER:u-1', '', undefined),
      pageScope('sso-admin', 'ListAccountAssignmentsForPrincipal', 'arn:aws:sso:::instance/ssoins-1', 'USER', 'u-1', '111122223333'),
    ];
    assert.equal(new Set(scopes).size, scopes.length);
    for (const a of scopes) for (const b of scopes) if (a !== b) assertRefused(() => tokens.open(b, sealed(a)));
  });

  test('an absent filter is the same list as an empty one', () => {
    assert.equal(pageScope('sso-admin', 'ListPermissionSetProvisioningStatus', 'arn', undefined), pageScope('sso-admin', 'ListPermissionSetProvisioningStatus', 'arn', ''));
  });

  test('the identity store keeps the scope text of its earlier tokens', () => {
    assert.equal(pageScope('identitystore', 'ListUsers', 'd-1234567890', undefined), 'identitystore:ListUsers:d-1234567890\0');
    assert.equal(pageScope('identitystore', 'ListGroupMemberships', 'd-1234567890', 'g-1'), 'identitystore:ListGroupMemberships:d-1234567890\0g-1');
  });

  test("keyset pages under the helper's scope refuse a token from another filter before anything is read", async () => {
    const rows = Array.from({ length: 3 }, (_, i) => ({ id: `m${i}` }));
    const fetch = async (after: string | undefined, limit: number) => rows.filter((r) => after === undefined || r.id > after).slice(0, limit);
    const first = await tokens.page(pageScope('identitystore', 'ListGroupMemberships', 'd-1234567890', 'g-1'), { MaxResults: 1 }, fetch, (r) => r.id);
    assert.ok(first.NextToken);
    await refusedUnread(pageScope('identitystore', 'ListGroupMemberships', 'd-1234567890', 'g-2'), first.NextToken);
  });
});
