// Access control attribute sources resolved against a user, as Identity Center's attribute mappings name them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolvePath, resolveSource } from '../../src/domain/session-tags.js';
import type { User } from '../../src/generated/identitystore.js';

const user = {
  IdentityStoreId: 'd-1234567890',
  UserId: 'u-1',
  UserName: 'alice',
  DisplayName: 'Alice Doe',
  Name: { GivenName: 'Alice', FamilyName: 'Doe' },
  Title: 'Engineer',
  Emails: [
    { Value: 'alice@home.example', Type: 'home', Primary: false },
    { Value: 'alice@work.example', Type: 'work', Primary: true },
  ],
  Addresses: [{ Locality: 'Lisbon', Country: 'PT' }],
  Extensions: { 'aws:identitystore:enterprise': { department: 'Platform', costCenter: 'CC-42' } },
} as unknown as User;

test('simple and nested attributes, in the camelCase the sources use', () => {
  assert.equal(resolvePath(user, 'userName'), 'alice');
  assert.equal(resolvePath(user, 'displayName'), 'Alice Doe');
  assert.equal(resolvePath(user, 'name.givenName'), 'Alice');
  assert.equal(resolvePath(user, 'name.familyName'), 'Doe');
  assert.equal(resolvePath(user, 'title'), 'Engineer');
});

test('the enterprise extension', () => {
  assert.equal(resolvePath(user, 'enterprise.department'), 'Platform');
  assert.equal(resolvePath(user, 'enterprise.costCenter'), 'CC-42');
  assert.equal(resolvePath(user, 'enterprise.division'), undefined);
});

test('list elements chosen by a filter, or the first element without one', () => {
  assert.equal(resolvePath(user, 'emails[primary eq true].value'), 'alice@work.example');
  assert.equal(resolvePath(user, 'emails[type eq "home"].value'), 'alice@home.example');
  assert.equal(resolvePath(user, 'emails[type eq "other"].value'), undefined);
  assert.equal(resolvePath(user, 'addresses.locality'), 'Lisbon');
});

test('a source passes no tag when the user lacks the attribute; text around the path is kept', () => {
  assert.equal(resolveSource(user, '${path:enterprise.department}'), 'Platform');
  assert.equal(resolveSource(user, '${path:nickName}'), undefined);
  assert.equal(resolveSource(user, 'team-${path:enterprise.costCenter}'), 'team-CC-42');
  assert.equal(resolveSource(user, ''), undefined);
  // An object is not a tag value.
  assert.equal(resolveSource(user, '${path:name}'), undefined);
});
