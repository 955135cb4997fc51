// Input decoding and validation against the generated service models, without a server: JSON types, every constraint
// trait, and the one ValidationException message AWS writes for all of a request's violations.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { identityStoreModel } from '../../src/generated/identitystore.js';
import { ssoAdminModel } from '../../src/generated/sso-admin.js';
import { ssoOidcModel } from '../../src/generated/sso-oidc.js';
import { ssoModel } from '../../src/generated/sso.js';
import { stsModel } from '../../src/generated/sts.js';
import type { ServiceModel, StringShape } from '../../src/wire/model.js';
import { ServiceError } from '../../src/wire/errors.js';
import { compilePattern, InputCodec, MAX_DOCUMENT_DEPTH, violationMessage, type Violation } from '../../src/wire/validate.js';

const identityStore = new InputCodec(identityStoreModel);
const ssoAdmin = new InputCodec(ssoAdminModel);

const STORE = 'd-1234567890';
const INSTANCE = 'arn:aws:sso:::instance/ssoins-1234567890abcdef';
const PERMISSION_SET = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef';
const USER_ID = '1234567890-12345678-1234-1234-1234-123456789012';

/** The ValidationException message a request would get, or undefined when it is valid. */
function validate(codec: InputCodec, shape: string, input: unknown): string | undefined {
  const violations: Violation[] = [];
  codec.decode(shape, input, violations);
  return violations.length ? violationMessage(violations) : undefined;
}

const pattern = (model: ServiceModel, shape: string) => (model.shapes[shape] as StringShape).pattern!;

/** Asserts that decoding throws SerializationException naming the member's path. */
function assertSerialization(codec: InputCodec, shape: string, input: unknown, message: string) {
  assert.throws(
    () => codec.decode(shape, input, []),
    (err: unknown) => {
      assert.ok(err instanceof ServiceError);
      assert.equal(err.code, 'SerializationException');
      assert.equal(err.status, 400);
      assert.equal(err.message, message);
      return true;
    },
  );
}

describe('JSON types', () => {
  test('a member of the wrong JSON type is SerializationException, not a validation error', () => {
    assertSerialization(identityStore, 'ListUsersRequest', { IdentityStoreId: STORE, MaxResults: '10' }, "Value at 'maxResults' must be an integer, but was string");
    assertSerialization(identityStore, 'ListUsersRequest', { IdentityStoreId: STORE, MaxResults: 1.5 }, "Value at 'maxResults' must be an integer, but was number");
    assertSerialization(identityStore, 'ListUsersRequest', { IdentityStoreId: 12 }, "Value at 'identityStoreId' must be a string, but was number");
    assertSerialization(
      identityStore,
      'ListUsersRequest',
      { IdentityStoreId: STORE, Extensions: 'aws:identitystore:enterprise' },
      "Value at 'extensions' must be a list, but was string",
    );
    assertSerialization(identityStore, 'CreateUserRequest', { IdentityStoreId: STORE, Name: ['G'] }, "Value at 'name' must be an object, but was array");
    assertSerialization(
      identityStore,
      'CreateUserRequest',
      { IdentityStoreId: STORE, Emails: [{ Primary: 'yes' }] },
      "Value at 'emails.1.member.primary' must be a boolean, but was string",
    );
    assertSerialization(identityStore, 'CreateUserRequest', { IdentityStoreId: STORE, Extensions: [] }, "Value at 'extensions' must be a map, but was array");
  });

  test('a body that is not an object is SerializationException at $', () => {
    assertSerialization(identityStore, 'ListUsersRequest', [], "Value at '$' must be an object, but was array");
    assertSerialization(identityStore, 'ListUsersRequest', 'x', "Value at '$' must be an object, but was string");
    assertSerialization(identityStore, 'ListUsersRequest', null, "Value at '$' must be an object, but was null");
  });

  test('a null member counts as absent', () => {
    assert.equal(validate(identityStore, 'ListUsersRequest', { IdentityStoreId: STORE, MaxResults: null, NextToken: null }), undefined);
  });

  test('a valid input decodes to its members; unknown members are dropped', () => {
    const out: Violation[] = [];
    const input = identityStore.decode('ListUsersRequest', { IdentityStoreId: STORE, MaxResults: 5, Unknown: 1 }, out);
    assert.deepEqual(out, []);
    assert.deepEqual(input, { IdentityStoreId: STORE, MaxResults: 5 });
  });
});

describe('constraint traits', () => {
  test('required: a missing member is "Value null … must not be null"', () => {
    assert.equal(
      validate(identityStore, 'DescribeUserRequest', {}),
      '2 validation errors detected: ' +
        "Value null at 'identityStoreId' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'userId' failed to satisfy constraint: Member must not be null",
    );
  });

  test('required members of a nested structure are named by their dotted path', () => {
    assert.equal(
      validate(identityStore, 'CreateUserRequest', { IdentityStoreId: STORE, Photos: [{ Type: 'x' }] }),
      "1 validation error detected: Value null at 'photos.1.member.value' failed to satisfy constraint: Member must not be null",
    );
  });

  test('length: min and max of strings, the value quoted', () => {
    assert.equal(
      validate(identityStore, 'ListUsersRequest', { IdentityStoreId: STORE, NextToken: '' }),
      "1 validation error detected: Value '' at 'nextToken' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    const long = `${'a'.repeat(36)}1`;
    assert.equal(
      validate(identityStore, 'ListUsersRequest', { IdentityStoreId: long }),
      '2 validation errors detected: ' +
        `Value '${long}' at 'identityStoreId' failed to satisfy constraint: Member must have length less than or equal to 36; ` +
        `Value '${long}' at 'identityStoreId' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern(identityStoreModel, 'IdentityStoreId')}`,
    );
  });

  test('length: a sensitive member is never echoed back', () => {
    assert.equal(
      validate(identityStore, 'CreateUserRequest', { IdentityStoreId: STORE, UserName: 'u'.repeat(129) }),
      "1 validation error detected: Value at 'userName' failed to satisfy constraint: Member must have length less than or equal to 128",
    );
    assert.equal(validate(identityStore, 'CreateUserRequest', { IdentityStoreId: STORE, UserName: 'u'.repeat(128) }), undefined);
  });

  test('length: counted in UTF-16 code units, as Java counts', () => {
    // 127 letters and one astral letter: 128 code points but 129 code units.
    const message = validate(identityStore, 'CreateUserRequest', { IdentityStoreId: STORE, UserName: `${'u'.repeat(127)}\u{1D49C}` });
    assert.match(message ?? '', /Member must have length less than or equal to 128$/);
  });

  test('length: list sizes', () => {
    assert.equal(
      validate(identityStore, 'ListUsersRequest', { IdentityStoreId: STORE, Extensions: [] }),
      "1 validation error detected: Value '[]' at 'extensions' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    // Emails hold sensitive members (Email.Value): the list is left out of the message, as a sensitive member is.
    assert.equal(
      validate(identityStore, 'CreateUserRequest', { IdentityStoreId: STORE, Emails: [{ Value: 'a@example.com' }, { Value: 'b@example.com' }] }),
      "1 validation error detected: Value at 'emails' failed to satisfy constraint: Member must have length less than or equal to 1",
    );
    const groups = Array.from({ length: 101 }, () => USER_ID);
    assert.match(
      validate(identityStore, 'IsMemberInGroupsRequest', { IdentityStoreId: STORE, MemberId: { UserId: USER_ID }, GroupIds: groups }) ?? '',
      /at 'groupIds' failed to satisfy constraint: Member must have length less than or equal to 100$/,
    );
  });

  test('length: map sizes, and every map key against the key shape', () => {
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`aws:identitystore:x${'abcdefghijk'[i]}`, {}]));
    assert.match(
      validate(identityStore, 'CreateUserRequest', { IdentityStoreId: STORE, Extensions: eleven }) ?? '',
      /^1 validation error detected: Value '.*' at 'extensions' failed to satisfy constraint: Member must have length less than or equal to 10$/,
    );
    assert.match(
      validate(identityStore, 'CreateUserRequest', { IdentityStoreId: STORE, Extensions: { enterprise: {} } }) ?? '',
      /^1 validation error detected: Value 'enterprise' at 'extensions\.key' failed to satisfy constraint: Member must satisfy regular expression pattern: aws:identitystore:\[a-z\]\{1,20\}$/,
    );
  });

  test('range: integers below the minimum or above the maximum', () => {
    assert.equal(
      validate(identityStore, 'ListUsersRequest', { IdentityStoreId: STORE, MaxResults: 0 }),
      "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    assert.equal(
      validate(identityStore, 'ListUsersRequest', { IdentityStoreId: STORE, MaxResults: 101 }),
      "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100",
    );
    assert.equal(validate(identityStore, 'ListUsersRequest', { IdentityStoreId: STORE, MaxResults: 1 }), undefined);
    assert.equal(validate(identityStore, 'ListUsersRequest', { IdentityStoreId: STORE, MaxResults: 100 }), undefined);
  });

  test('pattern: the model pattern as AWS prints it, unanchored in botocore but matched whole', () => {
    assert.equal(
      validate(identityStore, 'ListUsersRequest', { IdentityStoreId: 'nope' }),
      `1 validation error detected: Value 'nope' at 'identityStoreId' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern(identityStoreModel, 'IdentityStoreId')}`,
    );
    for (const bad of [`x${STORE}`, `${STORE}x`, 'd-ABCDEF1234', 'd-12345678901', `${STORE}\n`]) {
      assert.match(validate(identityStore, 'ListUsersRequest', { IdentityStoreId: bad }) ?? '', /Member must satisfy regular expression pattern/, bad);
    }
    for (const good of [STORE, '12345678-1234-1234-1234-123456789012']) {
      assert.equal(validate(identityStore, 'ListUsersRequest', { IdentityStoreId: good }), undefined, good);
    }
  });

  test('pattern: a sensitive member is not echoed', () => {
    assert.equal(
      validate(identityStore, 'CreateUserRequest', { IdentityStoreId: STORE, UserName: 'has space' }),
      `1 validation error detected: Value at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern(identityStoreModel, 'UserName')}`,
    );
  });

  test('enum: the allowed values listed as AWS lists them', () => {
    const input = { InstanceArn: INSTANCE, TargetId: '111122223333', TargetType: 'AWS_ACCOUNT', PermissionSetArn: PERMISSION_SET, PrincipalType: 'ROBOT', PrincipalId: USER_ID };
    assert.equal(
      validate(ssoAdmin, 'CreateAccountAssignmentRequest', input),
      "1 validation error detected: Value 'ROBOT' at 'principalType' failed to satisfy constraint: Member must satisfy enum value set: [USER, GROUP]",
    );
    assert.equal(validate(ssoAdmin, 'CreateAccountAssignmentRequest', { ...input, PrincipalType: 'GROUP' }), undefined);
    // Enum values are case-sensitive.
    assert.match(validate(ssoAdmin, 'CreateAccountAssignmentRequest', { ...input, PrincipalType: 'user' }) ?? '', /enum value set: \[USER, GROUP\]$/);
  });

  test('union: exactly one member must be set', () => {
    assert.equal(
      validate(identityStore, 'GetUserIdRequest', { IdentityStoreId: STORE, AlternateIdentifier: {} }),
      "1 validation error detected: Value at 'alternateIdentifier' failed to satisfy constraint: Exactly one member must be set, but none was",
    );
    const both = {
      ExternalId: { Issuer: 'issuer', Id: 'id' },
      UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'someone' },
    };
    assert.equal(
      validate(identityStore, 'GetUserIdRequest', { IdentityStoreId: STORE, AlternateIdentifier: both }),
      "1 validation error detected: Value at 'alternateIdentifier' failed to satisfy constraint: Exactly one member must be set, but 2 were",
    );
    assert.equal(validate(identityStore, 'GetUserIdRequest', { IdentityStoreId: STORE, AlternateIdentifier: { ExternalId: both.ExternalId } }), undefined);
  });

  test('list elements: a null element and an element breaking its shape are named NAME.N.member', () => {
    assert.equal(
      validate(identityStore, 'IsMemberInGroupsRequest', { IdentityStoreId: STORE, MemberId: { UserId: USER_ID }, GroupIds: [USER_ID, null] }),
      "1 validation error detected: Value null at 'groupIds.2.member' failed to satisfy constraint: Member must not be null",
    );
    assert.match(
      validate(identityStore, 'DescribeUserRequest', { IdentityStoreId: STORE, UserId: USER_ID, Extensions: ['enterprise'] }) ?? '',
      /^1 validation error detected: Value 'enterprise' at 'extensions\.1\.member' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    );
  });

  test('documents: any JSON, but not nested deeper than the limit', () => {
    const nest = (depth: number): unknown => (depth === 1 ? 'leaf' : { a: nest(depth - 1) });
    const input = (depth: number) => ({ IdentityStoreId: STORE, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: nest(depth) } } });
    assert.equal(validate(identityStore, 'GetUserIdRequest', input(MAX_DOCUMENT_DEPTH)), undefined);
    assert.equal(
      validate(identityStore, 'GetUserIdRequest', input(MAX_DOCUMENT_DEPTH + 1)),
      `1 validation error detected: Value at 'alternateIdentifier.uniqueAttribute.attributeValue' failed to satisfy constraint: Member must have a nesting depth less than or equal to ${MAX_DOCUMENT_DEPTH}`,
    );
  });
});

describe('all violations in one message', () => {
  test('every violation of a request, in member order, joined by "; "', () => {
    assert.equal(
      validate(identityStore, 'ListUsersRequest', { IdentityStoreId: 'nope', MaxResults: 0 }),
      '2 validation errors detected: ' +
        `Value 'nope' at 'identityStoreId' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern(identityStoreModel, 'IdentityStoreId')}; ` +
        "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
  });

  test('violations deep in the input are collected with the top-level ones', () => {
    const message = validate(ssoAdmin, 'CreatePermissionSetRequest', {
      InstanceArn: INSTANCE,
      Name: '',
      SessionDuration: 'eight hours',
      Tags: [{ Key: 'k' }],
    });
    assert.equal(
      message,
      '4 validation errors detected: ' +
        "Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
        `Value '' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern(ssoAdminModel, 'PermissionSetName')}; ` +
        `Value 'eight hours' at 'sessionDuration' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern(ssoAdminModel, 'Duration')}; ` +
        "Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null",
    );
  });

  test('violationMessage: singular and plural, null unquoted, a left-out value as plain "Value"', () => {
    assert.equal(violationMessage([{ path: 'a', value: 'x', constraint: 'C' }]), "1 validation error detected: Value 'x' at 'a' failed to satisfy constraint: C");
    assert.equal(
      violationMessage([
        { path: 'a', value: null, constraint: 'C1' },
        { path: 'b.c', value: undefined, constraint: 'C2' },
        { path: 'd', value: "it's", constraint: 'C3' },
      ]),
      "3 validation errors detected: Value null at 'a' failed to satisfy constraint: C1; Value at 'b.c' failed to satisfy constraint: C2; Value 'it's' at 'd' failed to satisfy constraint: C3",
    );
  });
});

describe('compilePattern: Java model patterns as anchored unicode JavaScript regexes', () => {
  test('every pattern of every generated model compiles', () => {
    let count = 0;
    for (const model of [identityStoreModel, ssoAdminModel, ssoOidcModel, ssoModel, stsModel]) {
      for (const [name, shape] of Object.entries(model.shapes)) {
        if (shape.type !== 'string' || !shape.pattern) continue;
        assert.doesNotThrow(() => compilePattern(shape.pattern!), `${model.id} ${name}: ${shape.pattern}`);
        count++;
      }
    }
    assert.ok(count > 30, `only ${count} patterns found`);
  });

  test('anchored: the whole value must match', () => {
    const re = compilePattern('\\d{12}');
    assert.equal(re.flags, 'u');
    assert.ok(re.test('111122223333'));
    assert.ok(!re.test('x111122223333'));
    assert.ok(!re.test('1111222233334'));
    // Alternatives are anchored as a group, not only the first and last.
    const alt = compilePattern('a|b');
    assert.ok(alt.test('a') && alt.test('b'));
    assert.ok(!alt.test('ab') && !alt.test('xa') && !alt.test('bx'));
  });

  test('Java escapes of plain characters that the u flag refuses are taken literally', () => {
    // ClaimAttributePath: `\_` outside a class.
    const claim = compilePattern(pattern(ssoAdminModel, 'ClaimAttributePath'));
    assert.ok(claim.test('email_verified'));
    assert.ok(claim.test('a.b'));
    assert.ok(!claim.test('a-b'));
    // RelayState: `\ ` inside a class, `\-` and `\\` and `\/` too.
    const relay = compilePattern(pattern(ssoAdminModel, 'RelayState'));
    assert.ok(relay.test('https://console.aws.amazon.com/ec2/home?region=us-east-1#Instances: a-b\\c'));
    assert.ok(!relay.test('tab\there'));
    // A Java `\-` outside a class is a plain dash.
    assert.ok(compilePattern('a\\-b').test('a-b'));
  });

  test('\\p classes and \\uXXXX escapes are unicode-aware', () => {
    const group = compilePattern(pattern(identityStoreModel, 'GroupDisplayName'));
    assert.ok(group.test('Équipe Überweisung 東京'));
    const userName = compilePattern(pattern(identityStoreModel, 'UserName'));
    assert.ok(userName.test('\u{1D49C}lice')); // an astral letter is one \p{L}, not two lone surrogates
    assert.ok(!userName.test('has space'));
    const description = compilePattern(pattern(ssoAdminModel, 'PermissionSetDescription'));
    assert.ok(description.test('Tab\tand ÿ'));
    assert.ok(!description.test('Ā'));
  });
});

describe('a small model for the shapes the services do not use', () => {
  const model: ServiceModel = {
    id: 'test',
    apiVersion: '2020-01-01',
    protocol: 'json',
    signingName: 'test',
    operations: {},
    shapes: {
      Node: { type: 'structure', required: ['Name'], members: { Name: { shape: 'Name' }, Child: { shape: 'Node' } } },
      Name: { type: 'string', min: 1, max: 3 },
      Input: {
        type: 'structure',
        members: { When: { shape: 'When' }, Data: { shape: 'Data' }, Ratio: { shape: 'Ratio' }, Big: { shape: 'Big' } },
      },
      When: { type: 'timestamp' },
      Data: { type: 'blob' },
      Ratio: { type: 'double', min: 0, max: 1 },
      Big: { type: 'long', min: 1 },
    },
  };
  const codec = new InputCodec(model);

  test('recursive shapes decode, with paths through every level', () => {
    assert.equal(validate(codec, 'Node', { Name: 'a', Child: { Name: 'b', Child: { Name: 'c' } } }), undefined);
    assert.equal(
      validate(codec, 'Node', { Name: 'a', Child: { Name: 'b', Child: { Name: 'long' } } }),
      "1 validation error detected: Value 'long' at 'child.child.name' failed to satisfy constraint: Member must have length less than or equal to 3",
    );
    assert.equal(
      validate(codec, 'Node', { Name: 'a', Child: { Child: {} } }),
      '2 validation errors detected: ' +
        "Value null at 'child.name' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'child.child.name' failed to satisfy constraint: Member must not be null",
    );
  });

  test('timestamps from epoch seconds or a date string; blobs from base64; doubles and longs with ranges', () => {
    const out: Violation[] = [];
    const input = codec.decode('Input', { When: 1440938160.5, Data: Buffer.from('hello').toString('base64'), Ratio: 0.5, Big: 2 ** 40 }, out);
    assert.deepEqual(out, []);
    assert.equal((input.When as Date).toISOString(), '2015-08-30T12:36:00.500Z');
    assert.equal((input.Data as Buffer).toString(), 'hello');
    assert.equal((codec.decode('Input', { When: '2015-08-30T12:36:00Z' }, []).When as Date).getTime(), Date.UTC(2015, 7, 30, 12, 36));
    assertSerialization(codec, 'Input', { When: 'yesterday' }, "Value at 'when' must be a timestamp, but was string");
    assertSerialization(codec, 'Input', { When: true }, "Value at 'when' must be a timestamp, but was boolean");
    assertSerialization(codec, 'Input', { Data: 12 }, "Value at 'data' must be a base64 string, but was number");
    assertSerialization(codec, 'Input', { Ratio: '0.5' }, "Value at 'ratio' must be a number, but was string");
    assert.equal(
      validate(codec, 'Input', { Ratio: 1.5, Big: 0 }),
      '2 validation errors detected: ' +
        "Value '1.5' at 'ratio' failed to satisfy constraint: Member must have value less than or equal to 1; " +
        "Value '0' at 'big' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
  });
});
