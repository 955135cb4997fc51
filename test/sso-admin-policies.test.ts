// What a permission set grants, through the JavaScript SDK v3 over real HTTP: AWS managed policies, customer managed
// policy references, the permissions boundary and the inline policy — every one of the 12 operations, the errors a
// user of the SDK sees, paging, the quota, and that each change leaves provisioned accounts on an older version
// until ProvisionPermissionSet runs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Identitystore } from '@aws-sdk/client-identitystore';
import {
  SSOAdmin,
  paginateListCustomerManagedPolicyReferencesInPermissionSet,
  paginateListManagedPoliciesInPermissionSet,
  type AttachedManagedPolicy,
  type CustomerManagedPolicyReference,
} from '@aws-sdk/client-sso-admin';
import { addAccount, ADMIN, REGION, rejectsWith, settle, uniq, useGatehouse, type SdkError, type TestServer } from './helpers/index.js';

interface Ctx {
  server: TestServer;
  admin: SSOAdmin;
  instanceArn: string;
}

/** One server and one SDK client for the enclosing describe block. */
function useServer(env: NodeJS.ProcessEnv = {}): Ctx {
  return useGatehouse({ env }, (server) => ({
    instanceArn: server.instanceArn,
    admin: new SSOAdmin({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 }),
  }));
}

const managedArn = (name: string) => `arn:aws:iam::aws:policy/${name}`;

/** A well-formed permission set ARN under the instance that no permission set has. */
const unknownPermissionSet = (instanceArn: string) => `arn:aws:sso:::permissionSet/${instanceArn.slice(instanceArn.lastIndexOf('/') + 1)}/ps-0000000000000000`;

async function newPermissionSet(ctx: Ctx): Promise<string> {
  const out = await ctx.admin.createPermissionSet({ InstanceArn: ctx.instanceArn, Name: uniq('ps') });
  return out.PermissionSet!.PermissionSetArn!;
}

/** The permission set's version as stored: what provisioned accounts are compared against. */
async function version(ctx: Ctx, permissionSetArn: string): Promise<number> {
  const row = await ctx.server.app.storage.db.selectFrom('permission_sets').select('version').where('permission_set_arn', '=', permissionSetArn).executeTakeFirstOrThrow();
  return Number(row.version);
}

/** Awaits a call that must fail with `name` as a client error (awsJson client errors are HTTP 400). */
async function expectError(call: Promise<unknown>, name: string): Promise<SdkError> {
  const err = await rejectsWith(call, name, { fault: 'client', status: 400 });
  assert.ok(err.message.length > 0, 'the error has a message');
  return err;
}

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/*' }],
});

describe('AWS managed policies', () => {
  const ctx = useServer();

  test('attach, list (Name is the last segment of the ARN), detach', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    await ctx.admin.attachManagedPolicyToPermissionSet({ ...ref, ManagedPolicyArn: managedArn('ReadOnlyAccess') });
    await ctx.admin.attachManagedPolicyToPermissionSet({ ...ref, ManagedPolicyArn: managedArn('job-function/ViewOnlyAccess') });

    const listed = await ctx.admin.listManagedPoliciesInPermissionSet(ref);
    assert.deepEqual(
      [...listed.AttachedManagedPolicies!].sort((a, b) => a.Arn!.localeCompare(b.Arn!)),
      [
        { Name: 'ViewOnlyAccess', Arn: managedArn('job-function/ViewOnlyAccess') },
        { Name: 'ReadOnlyAccess', Arn: managedArn('ReadOnlyAccess') },
      ].sort((a, b) => a.Arn.localeCompare(b.Arn)),
    );
    assert.equal(listed.NextToken, undefined);

    await ctx.admin.detachManagedPolicyFromPermissionSet({ ...ref, ManagedPolicyArn: managedArn('ReadOnlyAccess') });
    const after = await ctx.admin.listManagedPoliciesInPermissionSet(ref);
    assert.deepEqual(after.AttachedManagedPolicies, [{ Name: 'ViewOnlyAccess', Arn: managedArn('job-function/ViewOnlyAccess') }]);
  });

  test('a permission set without policies lists none', async () => {
    const ps = await newPermissionSet(ctx);
    const out = await ctx.admin.listManagedPoliciesInPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps });
    assert.deepEqual(out.AttachedManagedPolicies ?? [], []);
    assert.equal(out.NextToken, undefined);
  });

  test('attaching the same policy twice is ConflictException', async () => {
    const ps = await newPermissionSet(ctx);
    const input = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps, ManagedPolicyArn: managedArn('PowerUserAccess') };
    await ctx.admin.attachManagedPolicyToPermissionSet(input);
    await expectError(ctx.admin.attachManagedPolicyToPermissionSet(input), 'ConflictException');
  });

  test('concurrent attaches of the same policy: exactly one wins', async () => {
    const ps = await newPermissionSet(ctx);
    const input = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps, ManagedPolicyArn: managedArn('Billing') };
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => ctx.admin.attachManagedPolicyToPermissionSet(input)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as Error).name, 'ConflictException');
    const out = await ctx.admin.listManagedPoliciesInPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps });
    assert.equal(out.AttachedManagedPolicies!.length, 1);
  });

  test('detaching a policy that is not attached is ResourceNotFoundException', async () => {
    const ps = await newPermissionSet(ctx);
    const input = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps, ManagedPolicyArn: managedArn('SecurityAudit') };
    await expectError(ctx.admin.detachManagedPolicyFromPermissionSet(input), 'ResourceNotFoundException');
    await ctx.admin.attachManagedPolicyToPermissionSet(input);
    await ctx.admin.detachManagedPolicyFromPermissionSet(input);
    await expectError(ctx.admin.detachManagedPolicyFromPermissionSet(input), 'ResourceNotFoundException');
  });

  test('a malformed policy ARN is ValidationException', async () => {
    const ps = await newPermissionSet(ctx);
    await expectError(
      ctx.admin.attachManagedPolicyToPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps, ManagedPolicyArn: 'arn:aws:iam::123456789012:policy/Mine' }),
      'ValidationException',
    );
  });

  test('pages of 5 over 12 policies: every policy once, no NextToken on the last page', async () => {
    const ps = await newPermissionSet(ctx);
    const arns = Array.from({ length: 12 }, (_, i) => managedArn(`Paged${String(i).padStart(2, '0')}`));
    for (const arn of arns) await ctx.admin.attachManagedPolicyToPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps, ManagedPolicyArn: arn });

    const pages: AttachedManagedPolicy[][] = [];
    const tokens: (string | undefined)[] = [];
    for await (const page of paginateListManagedPoliciesInPermissionSet({ client: ctx.admin, pageSize: 5 }, { InstanceArn: ctx.instanceArn, PermissionSetArn: ps })) {
      pages.push(page.AttachedManagedPolicies ?? []);
      tokens.push(page.NextToken);
    }
    assert.deepEqual(
      pages.map((p) => p.length),
      [5, 5, 2],
    );
    assert.equal(tokens[2], undefined);
    assert.ok(tokens[0] && tokens[1]);
    const seen = pages.flat().map((p) => p.Arn!);
    assert.deepEqual([...seen].sort(), [...arns].sort());
    assert.equal(new Set(seen).size, 12);
    for (const p of pages.flat()) assert.equal(p.Name, p.Arn!.slice(p.Arn!.lastIndexOf('/') + 1));
  });

  test('a NextToken that was tampered with, or from another permission set, is ValidationException', async () => {
    const ps = await newPermissionSet(ctx);
    const other = await newPermissionSet(ctx);
    for (const name of ['T1', 'T2']) await ctx.admin.attachManagedPolicyToPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps, ManagedPolicyArn: managedArn(name) });
    const first = await ctx.admin.listManagedPoliciesInPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps, MaxResults: 1 });
    const token = first.NextToken!;
    assert.ok(token);
    const i = Math.floor(token.length / 2);
    const tampered = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
    await expectError(ctx.admin.listManagedPoliciesInPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps, NextToken: tampered }), 'ValidationException');
    await expectError(ctx.admin.listManagedPoliciesInPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: other, NextToken: token }), 'ValidationException');
  });
});

describe('customer managed policy references', () => {
  const ctx = useServer();

  test('attach (Path defaults to "/"), list, detach', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    await ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'S3Reader' } });
    await ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'S3Reader', Path: '/team/' } });
    const listed = await ctx.admin.listCustomerManagedPolicyReferencesInPermissionSet(ref);
    assert.deepEqual(listed.CustomerManagedPolicyReferences, [
      { Name: 'S3Reader', Path: '/' },
      { Name: 'S3Reader', Path: '/team/' },
    ]);
    assert.equal(listed.NextToken, undefined);

    // Without a Path, the reference names the one at "/".
    await ctx.admin.detachCustomerManagedPolicyReferenceFromPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'S3Reader' } });
    const after = await ctx.admin.listCustomerManagedPolicyReferencesInPermissionSet(ref);
    assert.deepEqual(after.CustomerManagedPolicyReferences, [{ Name: 'S3Reader', Path: '/team/' }]);
  });

  test('the same Name and Path twice is ConflictException, with or without the default Path spelled out', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    await ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'Deploy' } });
    await expectError(
      ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'Deploy', Path: '/' } }),
      'ConflictException',
    );
    await expectError(ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'Deploy' } }), 'ConflictException');
  });

  test('detaching a reference that is not attached is ResourceNotFoundException', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    await ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'Ops', Path: '/a/' } });
    await expectError(ctx.admin.detachCustomerManagedPolicyReferenceFromPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'Ops' } }), 'ResourceNotFoundException');
    await expectError(
      ctx.admin.detachCustomerManagedPolicyReferenceFromPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'Other', Path: '/a/' } }),
      'ResourceNotFoundException',
    );
  });

  test('a malformed Path is ValidationException', async () => {
    const ps = await newPermissionSet(ctx);
    await expectError(
      ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({
        InstanceArn: ctx.instanceArn,
        PermissionSetArn: ps,
        CustomerManagedPolicyReference: { Name: 'X', Path: 'no-slashes' },
      }),
      'ValidationException',
    );
  });

  test('pages over (Name, Path): every reference once', async () => {
    const ps = await newPermissionSet(ctx);
    const refs: CustomerManagedPolicyReference[] = [];
    for (const name of ['A', 'B', 'C']) for (const path of ['/', '/x/', '/y/']) refs.push({ Name: name, Path: path });
    for (const r of refs)
      await ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps, CustomerManagedPolicyReference: r });
    const sizes: number[] = [];
    const seen: CustomerManagedPolicyReference[] = [];
    for await (const page of paginateListCustomerManagedPolicyReferencesInPermissionSet(
      { client: ctx.admin, pageSize: 2 },
      { InstanceArn: ctx.instanceArn, PermissionSetArn: ps },
    )) {
      sizes.push(page.CustomerManagedPolicyReferences!.length);
      seen.push(...page.CustomerManagedPolicyReferences!);
    }
    assert.deepEqual(sizes, [2, 2, 2, 2, 1]);
    assert.deepEqual(seen, refs);
  });
});

describe('the quota of managed policies and customer references together', () => {
  const ctx = useServer();

  test('the 21st policy is ServiceQuotaExceededException; a detach makes room again', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    for (let i = 0; i < 10; i++) await ctx.admin.attachManagedPolicyToPermissionSet({ ...ref, ManagedPolicyArn: managedArn(`Quota${i}`) });
    for (let i = 0; i < 10; i++) await ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: `Quota${i}` } });

    await expectError(ctx.admin.attachManagedPolicyToPermissionSet({ ...ref, ManagedPolicyArn: managedArn('Quota20') }), 'ServiceQuotaExceededException');
    await expectError(
      ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'Quota20' } }),
      'ServiceQuotaExceededException',
    );
    // A refused attach leaves nothing behind.
    assert.equal((await ctx.admin.listManagedPoliciesInPermissionSet(ref)).AttachedManagedPolicies!.length, 10);
    assert.equal((await ctx.admin.listCustomerManagedPolicyReferencesInPermissionSet(ref)).CustomerManagedPolicyReferences!.length, 10);
    // On a full permission set, attaching what is already there is still the conflict it is.
    await expectError(ctx.admin.attachManagedPolicyToPermissionSet({ ...ref, ManagedPolicyArn: managedArn('Quota0') }), 'ConflictException');

    await ctx.admin.detachCustomerManagedPolicyReferenceFromPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'Quota0' } });
    await ctx.admin.attachManagedPolicyToPermissionSet({ ...ref, ManagedPolicyArn: managedArn('Quota20') });
    await expectError(
      ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'Quota0' } }),
      'ServiceQuotaExceededException',
    );
  });

  test('concurrent attaches cannot pass the quota together', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    for (let i = 0; i < 18; i++) await ctx.admin.attachManagedPolicyToPermissionSet({ ...ref, ManagedPolicyArn: managedArn(`Race${i}`) });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        i % 2
          ? ctx.admin.attachManagedPolicyToPermissionSet({ ...ref, ManagedPolicyArn: managedArn(`RaceExtra${i}`) })
          : ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: `RaceExtra${i}` } }),
      ),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as Error).name, 'ServiceQuotaExceededException');
  });
});

describe('permissions boundary', () => {
  const ctx = useServer();

  test('none at first: Get and Delete are ResourceNotFoundException', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    await expectError(ctx.admin.getPermissionsBoundaryForPermissionSet(ref), 'ResourceNotFoundException');
    await expectError(ctx.admin.deletePermissionsBoundaryFromPermissionSet(ref), 'ResourceNotFoundException');
  });

  test('put a managed policy, replace it with a customer reference (Path defaults to "/"), delete', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    await ctx.admin.putPermissionsBoundaryToPermissionSet({ ...ref, PermissionsBoundary: { ManagedPolicyArn: managedArn('PowerUserAccess') } });
    assert.deepEqual((await ctx.admin.getPermissionsBoundaryForPermissionSet(ref)).PermissionsBoundary, { ManagedPolicyArn: managedArn('PowerUserAccess') });

    await ctx.admin.putPermissionsBoundaryToPermissionSet({ ...ref, PermissionsBoundary: { CustomerManagedPolicyReference: { Name: 'Boundary' } } });
    assert.deepEqual((await ctx.admin.getPermissionsBoundaryForPermissionSet(ref)).PermissionsBoundary, { CustomerManagedPolicyReference: { Name: 'Boundary', Path: '/' } });

    await ctx.admin.deletePermissionsBoundaryFromPermissionSet(ref);
    await expectError(ctx.admin.getPermissionsBoundaryForPermissionSet(ref), 'ResourceNotFoundException');
    await expectError(ctx.admin.deletePermissionsBoundaryFromPermissionSet(ref), 'ResourceNotFoundException');
  });

  test('both or neither of ManagedPolicyArn and CustomerManagedPolicyReference is ValidationException', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    await expectError(
      ctx.admin.putPermissionsBoundaryToPermissionSet({
        ...ref,
        PermissionsBoundary: { ManagedPolicyArn: managedArn('ReadOnlyAccess'), CustomerManagedPolicyReference: { Name: 'B' } },
      }),
      'ValidationException',
    );
    await expectError(ctx.admin.putPermissionsBoundaryToPermissionSet({ ...ref, PermissionsBoundary: {} }), 'ValidationException');
    await expectError(ctx.admin.getPermissionsBoundaryForPermissionSet(ref), 'ResourceNotFoundException');
  });
});

describe('inline policy', () => {
  const ctx = useServer();

  test('none at first is an empty InlinePolicy; put, get back as given, replace, delete', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    assert.equal((await ctx.admin.getInlinePolicyForPermissionSet(ref)).InlinePolicy, '');

    await ctx.admin.putInlinePolicyToPermissionSet({ ...ref, InlinePolicy: POLICY });
    assert.equal((await ctx.admin.getInlinePolicyForPermissionSet(ref)).InlinePolicy, POLICY);

    // A single Statement object, the old Version, and whitespace as written are all kept.
    const second = '{\n  "Version": "2008-10-17",\n  "Statement": { "Effect": "Deny", "Action": "*", "Resource": "*" }\n}';
    await ctx.admin.putInlinePolicyToPermissionSet({ ...ref, InlinePolicy: second });
    assert.equal((await ctx.admin.getInlinePolicyForPermissionSet(ref)).InlinePolicy, second);

    await ctx.admin.deleteInlinePolicyFromPermissionSet(ref);
    assert.equal((await ctx.admin.getInlinePolicyForPermissionSet(ref)).InlinePolicy, '');
    // Deleting what is not there succeeds.
    await ctx.admin.deleteInlinePolicyFromPermissionSet(ref);
  });

  test('what is not a policy document is ValidationException and leaves the policy as it was', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    await ctx.admin.putInlinePolicyToPermissionSet({ ...ref, InlinePolicy: POLICY });
    const bad = [
      'not json',
      '{"Version": "2012-10-17"',
      '[]',
      '"text"',
      '{"Version": "2012-10-17"}',
      '{"Version": "2012-10-17", "Statement": []}',
      '{"Version": "2012-10-17", "Statement": "Allow"}',
      '{"Version": "2012-10-17", "Statement": ["Allow"]}',
      '{"Version": "2020-01-01", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}',
    ];
    for (const doc of bad) await expectError(ctx.admin.putInlinePolicyToPermissionSet({ ...ref, InlinePolicy: doc }), 'ValidationException');
    assert.equal((await ctx.admin.getInlinePolicyForPermissionSet(ref)).InlinePolicy, POLICY);
  });

  test('at most 10,240 characters other than whitespace', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    const withResource = (resource: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: resource }] });
    const base = withResource('').length;
    const fits = withResource('r'.repeat(10_240 - base));
    assert.equal(fits.length, 10_240);
    await ctx.admin.putInlinePolicyToPermissionSet({ ...ref, InlinePolicy: fits });
    await expectError(ctx.admin.putInlinePolicyToPermissionSet({ ...ref, InlinePolicy: withResource('r'.repeat(10_241 - base)) }), 'ValidationException');
    // Whitespace does not count: the same document, widely spaced, is over 10,240 characters and still fits.
    const indented = fits.replaceAll(',', ',\n' + ' '.repeat(2_000));
    assert.ok(indented.length > 10_240 && indented.length <= 32_768);
    await ctx.admin.putInlinePolicyToPermissionSet({ ...ref, InlinePolicy: indented });
    assert.equal((await ctx.admin.getInlinePolicyForPermissionSet(ref)).InlinePolicy, indented);
  });

  test('over 32,768 characters is refused by the model', async () => {
    const ps = await newPermissionSet(ctx);
    const huge = ' '.repeat(32_768) + POLICY;
    assert.ok(huge.length > 32_768);
    await expectError(ctx.admin.putInlinePolicyToPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps, InlinePolicy: huge }), 'ValidationException');
  });
});

describe('permission sets that do not exist, or belong to no such instance', () => {
  const ctx = useServer();

  test('every operation answers ResourceNotFoundException', async () => {
    const unknown = { InstanceArn: ctx.instanceArn, PermissionSetArn: unknownPermissionSet(ctx.instanceArn) };
    const calls: [string, (r: typeof unknown) => Promise<unknown>][] = [
      ['AttachManagedPolicy', (r) => ctx.admin.attachManagedPolicyToPermissionSet({ ...r, ManagedPolicyArn: managedArn('ReadOnlyAccess') })],
      ['DetachManagedPolicy', (r) => ctx.admin.detachManagedPolicyFromPermissionSet({ ...r, ManagedPolicyArn: managedArn('ReadOnlyAccess') })],
      ['ListManagedPolicies', (r) => ctx.admin.listManagedPoliciesInPermissionSet(r)],
      ['AttachCustomerReference', (r) => ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ ...r, CustomerManagedPolicyReference: { Name: 'X' } })],
      ['DetachCustomerReference', (r) => ctx.admin.detachCustomerManagedPolicyReferenceFromPermissionSet({ ...r, CustomerManagedPolicyReference: { Name: 'X' } })],
      ['ListCustomerReferences', (r) => ctx.admin.listCustomerManagedPolicyReferencesInPermissionSet(r)],
      ['PutBoundary', (r) => ctx.admin.putPermissionsBoundaryToPermissionSet({ ...r, PermissionsBoundary: { ManagedPolicyArn: managedArn('ReadOnlyAccess') } })],
      ['GetBoundary', (r) => ctx.admin.getPermissionsBoundaryForPermissionSet(r)],
      ['DeleteBoundary', (r) => ctx.admin.deletePermissionsBoundaryFromPermissionSet(r)],
      ['PutInline', (r) => ctx.admin.putInlinePolicyToPermissionSet({ ...r, InlinePolicy: POLICY })],
      ['GetInline', (r) => ctx.admin.getInlinePolicyForPermissionSet(r)],
      ['DeleteInline', (r) => ctx.admin.deleteInlinePolicyFromPermissionSet(r)],
    ];
    // A real permission set named under an instance that does not exist.
    const ps = await newPermissionSet(ctx);
    const wrongInstance = { InstanceArn: 'arn:aws:sso:::instance/ssoins-0000000000000000', PermissionSetArn: ps };
    for (const [name, call] of calls) {
      await expectError(call(unknown), 'ResourceNotFoundException').catch((e: Error) => assert.fail(`${name}: ${e.message}`));
      await expectError(call(wrongInstance), 'ResourceNotFoundException').catch((e: Error) => assert.fail(`${name} (other instance): ${e.message}`));
    }
  });
});

describe('every change of content raises the version; reads and refused changes do not', () => {
  const ctx = useServer();

  test('versions', async () => {
    const ps = await newPermissionSet(ctx);
    const ref = { InstanceArn: ctx.instanceArn, PermissionSetArn: ps };
    const changes: [string, () => Promise<unknown>][] = [
      ['AttachManagedPolicy', () => ctx.admin.attachManagedPolicyToPermissionSet({ ...ref, ManagedPolicyArn: managedArn('ReadOnlyAccess') })],
      ['DetachManagedPolicy', () => ctx.admin.detachManagedPolicyFromPermissionSet({ ...ref, ManagedPolicyArn: managedArn('ReadOnlyAccess') })],
      ['AttachCustomerReference', () => ctx.admin.attachCustomerManagedPolicyReferenceToPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'X' } })],
      ['DetachCustomerReference', () => ctx.admin.detachCustomerManagedPolicyReferenceFromPermissionSet({ ...ref, CustomerManagedPolicyReference: { Name: 'X' } })],
      ['PutBoundary', () => ctx.admin.putPermissionsBoundaryToPermissionSet({ ...ref, PermissionsBoundary: { ManagedPolicyArn: managedArn('ReadOnlyAccess') } })],
      ['DeleteBoundary', () => ctx.admin.deletePermissionsBoundaryFromPermissionSet(ref)],
      ['PutInline', () => ctx.admin.putInlinePolicyToPermissionSet({ ...ref, InlinePolicy: POLICY })],
      ['DeleteInline', () => ctx.admin.deleteInlinePolicyFromPermissionSet(ref)],
    ];
    for (const [name, change] of changes) {
      const before = await version(ctx, ps);
      await change();
      assert.equal(await version(ctx, ps), before + 1, name);
    }

    const before = await version(ctx, ps);
    await ctx.admin.listManagedPoliciesInPermissionSet(ref);
    await ctx.admin.listCustomerManagedPolicyReferencesInPermissionSet(ref);
    await ctx.admin.getInlinePolicyForPermissionSet(ref);
    await ctx.admin.deleteInlinePolicyFromPermissionSet(ref); // nothing to delete
    await expectError(ctx.admin.detachManagedPolicyFromPermissionSet({ ...ref, ManagedPolicyArn: managedArn('Nope') }), 'ResourceNotFoundException');
    await expectError(ctx.admin.deletePermissionsBoundaryFromPermissionSet(ref), 'ResourceNotFoundException');
    await expectError(ctx.admin.putInlinePolicyToPermissionSet({ ...ref, InlinePolicy: '{}' }), 'ValidationException');
    await ctx.admin.attachManagedPolicyToPermissionSet({ ...ref, ManagedPolicyArn: managedArn('Twice') });
    await expectError(ctx.admin.attachManagedPolicyToPermissionSet({ ...ref, ManagedPolicyArn: managedArn('Twice') }), 'ConflictException');
    assert.equal(await version(ctx, ps), before + 1, 'only the one successful attach raised the version');
  });
});

describe('provisioned accounts and later changes', () => {
  const ctx = useServer({ GATEHOUSE_PROVISIONING_DELAY_MS: '100' });
  const ACCOUNT = '111122223333';

  const accounts = (ps: string, status: 'LATEST_PERMISSION_SET_PROVISIONED' | 'LATEST_PERMISSION_SET_NOT_PROVISIONED') =>
    ctx.admin.listAccountsForProvisionedPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps, ProvisioningStatus: status }).then((o) => o.AccountIds ?? []);

  test('attaching a policy leaves the account on LATEST_PERMISSION_SET_NOT_PROVISIONED until ProvisionPermissionSet', async () => {
    const store = new Identitystore({ endpoint: ctx.server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    try {
      const user = await store.createUser({
        IdentityStoreId: ctx.server.identityStoreId,
        UserName: 'dev',
        DisplayName: 'Dev User',
        Name: { GivenName: 'Dev', FamilyName: 'User' },
      });
      await addAccount(ctx.server, ACCOUNT, 'Dev', 'dev@example.com');
      const ps = await newPermissionSet(ctx);

      const created = await ctx.admin.createAccountAssignment({
        InstanceArn: ctx.instanceArn,
        TargetId: ACCOUNT,
        TargetType: 'AWS_ACCOUNT',
        PermissionSetArn: ps,
        PrincipalType: 'USER',
        PrincipalId: user.UserId!,
      });
      const requestId = created.AccountAssignmentCreationStatus!.RequestId!;
      const done = await settle(
        async () =>
          (await ctx.admin.describeAccountAssignmentCreationStatus({ InstanceArn: ctx.instanceArn, AccountAssignmentCreationRequestId: requestId }))
            .AccountAssignmentCreationStatus,
      );
      assert.equal(done?.Status, 'SUCCEEDED', done?.FailureReason);
      assert.deepEqual(await accounts(ps, 'LATEST_PERMISSION_SET_PROVISIONED'), [ACCOUNT]);
      assert.deepEqual(await accounts(ps, 'LATEST_PERMISSION_SET_NOT_PROVISIONED'), []);

      await ctx.admin.attachManagedPolicyToPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps, ManagedPolicyArn: managedArn('ReadOnlyAccess') });
      assert.deepEqual(await accounts(ps, 'LATEST_PERMISSION_SET_NOT_PROVISIONED'), [ACCOUNT]);
      assert.deepEqual(await accounts(ps, 'LATEST_PERMISSION_SET_PROVISIONED'), []);

      const provision = await ctx.admin.provisionPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps, TargetType: 'AWS_ACCOUNT', TargetId: ACCOUNT });
      const provisioned = await settle(
        async () =>
          (
            await ctx.admin.describePermissionSetProvisioningStatus({
              InstanceArn: ctx.instanceArn,
              ProvisionPermissionSetRequestId: provision.PermissionSetProvisioningStatus!.RequestId!,
            })
          ).PermissionSetProvisioningStatus,
      );
      assert.equal(provisioned?.Status, 'SUCCEEDED', provisioned?.FailureReason);
      assert.deepEqual(await accounts(ps, 'LATEST_PERMISSION_SET_PROVISIONED'), [ACCOUNT]);
      assert.deepEqual(await accounts(ps, 'LATEST_PERMISSION_SET_NOT_PROVISIONED'), []);

      // The inline policy is content too.
      await ctx.admin.putInlinePolicyToPermissionSet({ InstanceArn: ctx.instanceArn, PermissionSetArn: ps, InlinePolicy: POLICY });
      assert.deepEqual(await accounts(ps, 'LATEST_PERMISSION_SET_NOT_PROVISIONED'), [ACCOUNT]);
    } finally {
      store.destroy();
    }
  });
});
