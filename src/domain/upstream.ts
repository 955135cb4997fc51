// What provisioning and GetRoleCredentials know of federation to AWS (src/domain/federation.ts) without loading it.

/** The name of the inline policy that carries a permission set's own policy, as Identity Center names it. */
export const INLINE_POLICY_NAME = 'AwsSSOInlinePolicy';

/** What a permission set becomes in one account. */
export interface RoleSpec {
  permissionSetArn: string;
  permissionSetName: string;
  sessionDurationSeconds: number;
  inlinePolicy: string | null;
  managedPolicyArns: string[];
  customerManagedPolicies: { name: string; path: string }[];
  boundary: { ManagedPolicyArn?: string; CustomerManagedPolicyReference?: { Name: string; Path?: string } } | null;
}

/** A role as it stands in an account once provisioned. */
export interface ProvisionedRole {
  roleName: string;
  roleArn: string;
  providerArn: string;
}

/** An upstream call that failed, with what AWS said: the text a provisioning job's FailureReason carries. */
export class UpstreamError extends Error {
  constructor(
    readonly operation: string,
    readonly accountId: string,
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${operation} in account ${accountId} failed: ${code}: ${message}`);
  }
}
