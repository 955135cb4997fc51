// The requests the benchmarks send, built and signed by the AWS SDK for JavaScript v3 for a server's URL, so that the
// load test (bench/run.ts) and the in-process measurement (bench/in-process.ts) measure the same calls.
import { DescribeUserCommand, IdentitystoreClient, ListUsersCommand } from '@aws-sdk/client-identitystore';
import { CreateAccountAssignmentCommand, DescribePermissionSetCommand, ListPermissionSetsCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { GetRoleCredentialsCommand, ListAccountsCommand, SSOClient } from '@aws-sdk/client-sso';
import { capture, captureConfig, type CapturedRequest } from './harness.js';

/** What a server under test holds, for building requests against it. */
export interface RequestFixture {
  identityStoreId: string;
  instanceArn: string;
  userId: string;
  permissionSetArn: string;
  accountId: string;
  /** The principal CreateAccountAssignment assigns. */
  principalId: string;
  /** The portal calls' role and the benchmark user's access token (servers without the portal API have none). */
  roleName?: string;
  accessToken?: string;
}

export const signedRequests = {
  DescribeUser: (url, f) => capture(() => new IdentitystoreClient(captureConfig(url)).send(new DescribeUserCommand({ IdentityStoreId: f.identityStoreId, UserId: f.userId }))),
  ListUsers: (url, f) => capture(() => new IdentitystoreClient(captureConfig(url)).send(new ListUsersCommand({ IdentityStoreId: f.identityStoreId }))),
  ListPermissionSets: (url, f) => capture(() => new SSOAdminClient(captureConfig(url)).send(new ListPermissionSetsCommand({ InstanceArn: f.instanceArn }))),
  DescribePermissionSet: (url, f) =>
    capture(() => new SSOAdminClient(captureConfig(url)).send(new DescribePermissionSetCommand({ InstanceArn: f.instanceArn, PermissionSetArn: f.permissionSetArn }))),
  CreateAccountAssignment: (url, f) =>
    capture(() =>
      new SSOAdminClient(captureConfig(url)).send(
        new CreateAccountAssignmentCommand({
          InstanceArn: f.instanceArn,
          TargetId: f.accountId,
          TargetType: 'AWS_ACCOUNT',
          PermissionSetArn: f.permissionSetArn,
          PrincipalType: 'USER',
          PrincipalId: f.principalId,
        }),
      ),
    ),
  ListAccounts: (url, f) => capture(() => new SSOClient(captureConfig(url)).send(new ListAccountsCommand({ accessToken: f.accessToken! }))),
  GetRoleCredentials: (url, f) =>
    capture(() => new SSOClient(captureConfig(url)).send(new GetRoleCredentialsCommand({ accessToken: f.accessToken!, accountId: f.accountId, roleName: f.roleName! }))),
} satisfies Record<string, (url: string, fixture: RequestFixture) => Promise<CapturedRequest>>;
