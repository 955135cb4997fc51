// UpdateUser and UpdateGroup attribute operations, applied to a resource's attributes without storage.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyOperations, checkExtensionNames, checkExtensions } from '../../src/services/identitystore/attributes.js';
import { identityStoreModel } from '../../src/generated/identitystore.js';
import type { StringShape } from '../../src/wire/model.js';
import { ServiceError } from '../../src/wire/errors.js';

const ENTERPRISE = 'aws:identitystore:enterprise';

const user = () => ({
  UserName: 'jdoe',
  DisplayName: 'John Doe',
  Name: { GivenName: 'John', FamilyName: 'Doe' },
  NickName: 'Johnny',
  Emails: [{ Value: 'jdoe@example.com', Type: 'work', Primary: true }],
});

function refused(fn: () => unknown, message: string | RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ServiceError, String(err));
    assert.equal(err.code, 'ValidationException');
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('user attributes', () => {
  test('a value replaces the attribute; the attributes passed in are left as they were', () => {
    const current = user();
    const next = applyOperations('user', current, [{ AttributePath: 'displayName', AttributeValue: 'J. Doe' }]);
    assert.equal(next.DisplayName, 'J. Doe');
    assert.deepEqual(current, user());
  });

  test('paths name attributes in any case', () => {
    const next = applyOperations('user', user(), [
      { AttributePath: 'DisplayName', AttributeValue: 'A' },
      { AttributePath: 'NICKNAME', AttributeValue: 'B' },
    ]);
    assert.equal(next.DisplayName, 'A');
    assert.equal(next.NickName, 'B');
  });

  test('no value removes an optional attribute; a required one cannot be removed', () => {
    const next = applyOperations('user', user(), [{ AttributePath: 'nickName' }]);
    assert.equal('NickName' in next, false);
    assert.equal('NickName' in applyOperations('user', user(), [{ AttributePath: 'nickName', AttributeValue: null }]), false);
    refused(() => applyOperations('user', user(), [{ AttributePath: 'displayName' }]), 'displayName is required and cannot be removed');
    refused(() => applyOperations('user', user(), [{ AttributePath: 'userName' }]), 'userName is required and cannot be removed');
    refused(() => applyOperations('user', user(), [{ AttributePath: 'name' }]), 'name is required and cannot be removed');
  });

  test("complex values arrive with camelCase keys and are kept in the model's PascalCase", () => {
    const next = applyOperations('user', user(), [
      { AttributePath: 'name', AttributeValue: { givenName: 'Jane', familyName: 'Roe', middleName: 'Q' } },
      { AttributePath: 'emails', AttributeValue: [{ value: 'jane@example.com', primary: true }] },
    ]);
    assert.deepEqual(next.Name, { GivenName: 'Jane', FamilyName: 'Roe', MiddleName: 'Q' });
    assert.deepEqual(next.Emails, [{ Value: 'jane@example.com', Primary: true }]);
  });

  test('a sub-attribute sets one member of a structure, or of the one element of a single-valued list', () => {
    const next = applyOperations('user', user(), [
      { AttributePath: 'name.givenName', AttributeValue: 'Jim' },
      { AttributePath: 'emails.value', AttributeValue: 'jim@example.com' },
      { AttributePath: 'phoneNumbers.value', AttributeValue: '+1 555 0100' },
    ]);
    assert.deepEqual(next.Name, { GivenName: 'Jim', FamilyName: 'Doe' });
    assert.deepEqual(next.Emails, [{ Value: 'jim@example.com', Type: 'work', Primary: true }]);
    assert.deepEqual(next.PhoneNumbers, [{ Value: '+1 555 0100' }]);
  });

  test('removing the last member of an element removes the attribute', () => {
    const next = applyOperations('user', { ...user(), Emails: [{ Value: 'x@example.com' }] }, [{ AttributePath: 'emails.value' }]);
    assert.equal('Emails' in next, false);
  });

  test('name.givenName and name.familyName may be replaced but not removed or left out', () => {
    refused(() => applyOperations('user', user(), [{ AttributePath: 'name.familyName' }]), 'name.familyName is required and cannot be removed');
    refused(() => applyOperations('user', user(), [{ AttributePath: 'name', AttributeValue: { givenName: 'Only' } }]), 'name.familyName is required and cannot be removed');
  });

  test('unknown paths are refused', () => {
    refused(() => applyOperations('user', user(), [{ AttributePath: 'shoeSize', AttributeValue: '42' }]), 'Invalid AttributePath shoeSize: no such attribute');
    refused(() => applyOperations('user', user(), [{ AttributePath: 'name.nickName', AttributeValue: 'x' }]), 'Invalid AttributePath name.nickName: no such attribute');
    refused(() => applyOperations('user', user(), [{ AttributePath: 'name.givenName.first', AttributeValue: 'x' }]), 'Invalid AttributePath name.givenName.first');
    refused(() => applyOperations('user', user(), [{ AttributePath: 'displayName.value', AttributeValue: 'x' }]), /^Invalid AttributePath displayName\.value/);
  });

  test('values are checked against the model, named by the operation they came in', () => {
    const userName = (identityStoreModel.shapes.UserName as StringShape).pattern;
    refused(
      () =>
        applyOperations('user', user(), [
          { AttributePath: 'nickName', AttributeValue: 'ok' },
          { AttributePath: 'userName', AttributeValue: 'has space' },
        ]),
      `1 validation error detected: Value at 'operations.2.member.attributeValue' failed to satisfy constraint: Member must satisfy regular expression pattern: ${userName}`,
    );
    refused(
      () => applyOperations('user', user(), [{ AttributePath: 'emails', AttributeValue: [{ value: 'a@example.com' }, { value: 'b@example.com' }] }]),
      // The addresses are sensitive: the list is left out of the message.
      "1 validation error detected: Value at 'operations.1.member.attributeValue' failed to satisfy constraint: Member must have length less than or equal to 1",
    );
    // A wrong type inside a document is a validation error here, not SerializationException.
    refused(
      () => applyOperations('user', user(), [{ AttributePath: 'displayName', AttributeValue: 5 }]),
      "Value at 'operations.1.member.attributeValue' must be a string, but was number",
    );
  });

  test('the enterprise extension: whole, or one attribute at a time', () => {
    const whole = applyOperations('user', user(), [{ AttributePath: ENTERPRISE, AttributeValue: { costCenter: 'CC-1', manager: { value: 'm' } } }]);
    assert.deepEqual(whole.Extensions, { [ENTERPRISE]: { costCenter: 'CC-1', manager: { value: 'm' } } });
    const one = applyOperations('user', whole, [
      { AttributePath: `${ENTERPRISE}.department`, AttributeValue: 'Sales' },
      { AttributePath: `${ENTERPRISE}.manager.value`, AttributeValue: 'n' },
      { AttributePath: `${ENTERPRISE}.costCenter` },
    ]);
    assert.deepEqual(one.Extensions, { [ENTERPRISE]: { department: 'Sales', manager: { value: 'n' } } });
    assert.deepEqual(whole.Extensions, { [ENTERPRISE]: { costCenter: 'CC-1', manager: { value: 'm' } } }, 'the input is not changed');
    const removed = applyOperations('user', whole, [{ AttributePath: ENTERPRISE }]);
    assert.equal('Extensions' in removed, false);
    refused(() => applyOperations('user', user(), [{ AttributePath: ENTERPRISE, AttributeValue: 'CC-1' }]), `${ENTERPRISE} must be an object`);
  });

  test('nothing is applied unless every operation is valid', () => {
    const current = user();
    refused(() => applyOperations('user', current, [{ AttributePath: 'nickName', AttributeValue: 'Changed' }, { AttributePath: 'displayName' }]), /required/);
    assert.deepEqual(current, user());
  });
});

describe('group attributes', () => {
  const group = () => ({ DisplayName: 'Engineers', Description: 'All of them' });

  test('displayName is required; description is optional', () => {
    assert.equal(applyOperations('group', group(), [{ AttributePath: 'displayName', AttributeValue: 'Devs' }]).DisplayName, 'Devs');
    assert.equal('Description' in applyOperations('group', group(), [{ AttributePath: 'description' }]), false);
    refused(() => applyOperations('group', group(), [{ AttributePath: 'displayName' }]), 'displayName is required and cannot be removed');
  });

  test('a group has no user attributes and no extension', () => {
    refused(
      () => applyOperations('group', group(), [{ AttributePath: 'name', AttributeValue: { givenName: 'a', familyName: 'b' } }]),
      'Invalid AttributePath name: no such attribute',
    );
    refused(() => applyOperations('group', group(), [{ AttributePath: ENTERPRISE, AttributeValue: {} }]), /^Invalid AttributePath aws:identitystore:enterprise/);
  });
});

describe('extension names', () => {
  test('only the enterprise extension is supported', () => {
    assert.doesNotThrow(() => checkExtensionNames([ENTERPRISE]));
    assert.doesNotThrow(() => checkExtensionNames(undefined));
    refused(() => checkExtensionNames(['aws:identitystore:custom']), `Extension aws:identitystore:custom is not supported; supported: ${ENTERPRISE}`);
  });

  test('CreateUser extensions: each an object of attributes', () => {
    assert.doesNotThrow(() => checkExtensions({ [ENTERPRISE]: { costCenter: 'CC-1' } }));
    assert.doesNotThrow(() => checkExtensions(undefined));
    for (const bad of ['CC-1', ['CC-1'], null]) refused(() => checkExtensions({ [ENTERPRISE]: bad }), `${ENTERPRISE} must be an object`);
  });
});
