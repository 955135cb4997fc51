// The ActorPolicy of an application's IAM authentication method, as CreateTokenWithIAM reads it: the Not* elements
// as the complement of what they list, an Effect other than Allow or Deny, and IAM's wildcards.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { actorPolicyAllows, statementProblem, wildcardMatch, type Actor } from '../../src/domain/oauth/actor-policy.js';

const APP = 'arn:aws:sso::111122223333:application/ssoins-1111111111111111/apl-2222222222222222';
const OTHER_APP = 'arn:aws:sso::111122223333:application/ssoins-1111111111111111/apl-3333333333333333';
const ADMIN: Actor = { arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333' };
const ROLE: Actor = { arn: 'arn:aws:sts::444455556666:assumed-role/Caller/alice', accountId: '444455556666', roleName: 'Caller' };
const ACTION = 'sso-oauth:CreateTokenWithIAM';

const allowAll = { Effect: 'Allow', Principal: '*', Action: ACTION, Resource: '*' };
const allows = (statements: object[], actor: Actor, app = APP) => actorPolicyAllows({ Version: '2012-10-17', Statement: statements }, actor, app);

describe('actorPolicyAllows: NotPrincipal, NotAction and NotResource', () => {
  test('a Deny with NotPrincipal denies everyone it does not list', () => {
    const policy = [allowAll, { Effect: 'Deny', NotPrincipal: { AWS: ADMIN.arn }, Action: ACTION }];
    assert.equal(allows(policy, ROLE), false);
    assert.equal(allows(policy, ADMIN), true);
  });

  test('a Deny with NotAction denies every action it does not list', () => {
    assert.equal(allows([allowAll, { Effect: 'Deny', Principal: '*', NotAction: 'sso-oauth:CreateToken' }], ADMIN), false);
    // Listing the action (in any case, or by a wildcard) leaves it out of the Deny.
    assert.equal(allows([allowAll, { Effect: 'Deny', Principal: '*', NotAction: ['sso-oauth:createtokenwith*'] }], ADMIN), true);
  });

  test('a Deny with NotResource denies every resource it does not list', () => {
    const policy = [allowAll, { Effect: 'Deny', Principal: '*', Action: ACTION, NotResource: OTHER_APP }];
    assert.equal(allows(policy, ADMIN), false);
    assert.equal(allows(policy, ADMIN, OTHER_APP), true);
  });

  test('an Allow with Not* elements allows what they do not list, and nothing they list', () => {
    assert.equal(allows([{ Effect: 'Allow', NotPrincipal: { AWS: ROLE.accountId }, Action: ACTION }], ADMIN), true);
    assert.equal(allows([{ Effect: 'Allow', NotPrincipal: { AWS: ROLE.accountId }, Action: ACTION }], ROLE), false);
    assert.equal(allows([{ Effect: 'Allow', Principal: '*', NotAction: 'sso-oauth:CreateTokenWithIAM' }], ADMIN), false);
    assert.equal(allows([{ Effect: 'Allow', Principal: '*', Action: ACTION, NotResource: APP }], ADMIN), false);
  });

  test('a statement naming no principal (or no action) at all applies to no one', () => {
    assert.equal(allows([{ Effect: 'Allow', Action: ACTION }], ADMIN), false);
    assert.equal(allows([allowAll, { Effect: 'Deny', Principal: '*' }], ADMIN), true);
  });
});

describe('actorPolicyAllows: Effect', () => {
  test('an Effect other than Allow or Deny is a problem, and a policy holding one lets nobody through', () => {
    for (const Effect of ['deny', 'allow', 'DENY', '', undefined, 1]) {
      const policy = { Statement: [allowAll, { Effect, Principal: { AWS: ROLE.arn }, Action: ACTION }] };
      assert.match(statementProblem(policy) ?? '', /Effect of Allow or Deny/, String(Effect));
      assert.equal(actorPolicyAllows(policy, ADMIN, APP), false, String(Effect));
    }
    assert.equal(statementProblem({ Statement: [allowAll, { ...allowAll, Effect: 'Deny' }] }), undefined);
  });
});

describe('wildcardMatch', () => {
  test('* matches any run of characters, ? exactly one; case matters unless ignored', () => {
    const cases: [string, string, boolean][] = [
      ['*', '', true],
      ['*', 'anything', true],
      ['a*c', 'abbbc', true],
      ['a*c', 'abbb', false],
      ['a?c', 'abc', true],
      ['a?c', 'ac', false],
      ['*b*b*', 'abab', true],
      ['*b*b*', 'ab', false],
      ['arn:aws:sso::*:application/*', APP, true],
      ['arn:aws:sso::*:application/*/apl-3*', APP, false],
      ['a.c', 'abc', false],
      ['(a)', '(a)', true],
      ['', '', true],
      ['', 'a', false],
      ['ab', 'Ab', false],
    ];
    for (const [pattern, value, expected] of cases) assert.equal(wildcardMatch(pattern, value), expected, `${pattern} ~ ${value}`);
    assert.equal(wildcardMatch('SSO-OAUTH:CreateToken*', 'sso-oauth:createtokenwithiam', true), true);
  });

  test('a pattern of many stars against a long value that does not match answers, and correctly', () => {
    // As a regular expression (`.*` for each `*`) this backtracks exponentially; here it is a loop.
    const value = 'a'.repeat(50_000);
    assert.equal(wildcardMatch(`${'*'.repeat(30)}Z`, value), false);
    assert.equal(wildcardMatch(`${'*a'.repeat(30)}Z`, value), false);
    assert.equal(wildcardMatch(`${'*a'.repeat(30)}*`, value), true);
    assert.equal(wildcardMatch(`*******Z`, `${value}Z`), true);
  });
});
