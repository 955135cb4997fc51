// Federation to AWS: the IAM side of provisioning and the STS side of GetRoleCredentials, as Identity Center does them
// in an AWS organization. In each member account Gatehouse keeps a SAML provider holding its identity provider's
// metadata and, per provisioned permission set, a role that trusts that provider; credentials come from
// sts:AssumeRoleWithSAML with a Response Gatehouse signs (src/domain/saml-idp.ts).
//
// This module loads the AWS SDK, which takes a process a quarter of a second and tens of megabytes: the App imports it
// only when federation is on, and the rest of the code knows it by its types and src/domain/upstream.ts.
//
// Gatehouse's own AWS credentials come from the SDK's default chain (environment, profile, instance role). It reaches
// a member account by assuming the member role there (OrganizationAccountAccessRole unless configured), or directly
// when the account is its own. Every change is idempotent (made to match, whatever is there), so a job that stopped
// halfway is finished by running it again.
import { createHash } from 'node:crypto';
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  CreateSAMLProviderCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicyCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  GetSAMLProviderCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
  UpdateSAMLProviderCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, AssumeRoleWithSAMLCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsFederationConfig } from '../config.js';
import type { IssuedCredentials } from './role-credentials.js';
import type { SessionTag } from './session-tags.js';
import { INLINE_POLICY_NAME, type ProvisionedRole, type RoleSpec, UpstreamError } from './upstream.js';
import { AWS_SAML_ENDPOINT, type SamlIdp } from './saml-idp.js';

const ISSUED_BY_TAG = 'gatehouse:managed-by';

/** The partition of a region: ARNs and IAM's home region differ in China and GovCloud. */
function partitionOf(region: string) {
  if (region.startsWith('cn-')) return { partition: 'aws-cn', iamRegion: 'cn-north-1' };
  if (region.startsWith('us-gov-')) return { partition: 'aws-us-gov', iamRegion: 'us-gov-west-1' };
  return { partition: 'aws', iamRegion: 'us-east-1' };
}

/**
 * AWS's sign-in endpoints for SAML, global and regional, in every partition: STS takes only these as a Response's
 * Recipient. Another sign-in URL (a stand-in in front of an emulator) receives the console's Responses only.
 */
const AWS_SIGNIN = /^https:\/\/([a-z0-9-]+\.)?signin\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)\/saml$/;

/** Credentials assumed in a member account are used until this close to their end. */
const REFRESH_BEFORE_MS = 5 * 60_000;

const sdkError = (err: unknown) => err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };

/** For a read of something that may not exist: undefined when IAM says it does not, any other failure as it is. */
function unlessMissing(err: unknown): undefined {
  if (err instanceof UpstreamError && (err.code === 'NoSuchEntityException' || err.code === 'NoSuchEntity')) return undefined;
  throw err;
}

export class AwsFederation {
  readonly partition: string;
  private readonly iamRegion: string;
  private readonly stsRegion: string;
  private readonly sts: STSClient;
  private readonly members = new Map<string, { iam: IAMClient; until: number }>();
  private ownAccount?: Promise<string>;
  /** The Recipient of the Responses given to STS: only AWS's sign-in endpoints are, for STS. */
  private readonly apiRecipient: string;
  /** What the roles' trust policies take as `SAML:aud` (the Recipient): the API's, and the console's sign-in URL. */
  private readonly audiences: string[];

  constructor(
    readonly settings: AwsFederationConfig,
    region: string,
    private readonly samlIdp: SamlIdp,
    /** Where a SAML provider's metadata says sign-in starts (the portal). */
    private readonly signInStartUrl: () => string,
    private readonly clock: () => number = Date.now,
  ) {
    this.stsRegion = settings.region ?? region;
    ({ partition: this.partition, iamRegion: this.iamRegion } = partitionOf(this.stsRegion));
    this.sts = new STSClient(this.clientOptions(this.stsRegion));
    this.apiRecipient = AWS_SIGNIN.test(settings.signInUrl) ? settings.signInUrl : AWS_SAML_ENDPOINT;
    this.audiences = [...new Set([this.apiRecipient, settings.signInUrl])];
  }

  private clientOptions(region: string) {
    return {
      region,
      ...(this.settings.endpointUrl ? { endpoint: this.settings.endpointUrl } : {}),
      // Throttling and transient faults are retried by the SDK before a job is failed.
      maxAttempts: 5,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 20_000 },
    };
  }

  /** The account of Gatehouse's own credentials, read once. */
  private account(): Promise<string> {
    this.ownAccount ??= this.sts.send(new GetCallerIdentityCommand({})).then(
      (r) => r.Account!,
      (err) => {
        this.ownAccount = undefined;
        throw err;
      },
    );
    return this.ownAccount;
  }

  /** An IAM client acting in the account: through the member role, or with Gatehouse's own credentials in its own. */
  private async iam(accountId: string): Promise<IAMClient> {
    const now = this.clock();
    const kept = this.members.get(accountId);
    if (kept && kept.until > now) return kept.iam;
    const options = this.clientOptions(this.iamRegion);
    let until = Number.POSITIVE_INFINITY;
    let iam: IAMClient;
    if ((await this.call('GetCallerIdentity', accountId, () => this.account())) === accountId) {
      iam = new IAMClient(options);
    } else {
      const roleArn = `arn:${this.partition}:iam::${accountId}:role/${this.settings.memberAccountRole}`;
      const assumed = await this.call('AssumeRole', accountId, () => this.sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'gatehouse-provisioning' })));
      const c = assumed.Credentials!;
      until = (c.Expiration?.getTime() ?? now + 3600_000) - REFRESH_BEFORE_MS;
      iam = new IAMClient({ ...options, credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken } });
    }
    this.members.set(accountId, { iam, until });
    return iam;
  }

  /** Runs one upstream call, turning what the SDK throws into an UpstreamError that names the call and the account. */
  private async call<T>(operation: string, accountId: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      const e = sdkError(err);
      throw new UpstreamError(operation, accountId, e.Code ?? e.name ?? 'Error', e.message ?? String(err), e.$metadata?.httpStatusCode);
    }
  }

  /** The name of the SAML provider Gatehouse keeps in every account, from the instance it serves. */
  providerName(instanceArn: string) {
    return `${this.settings.rolePrefix}${instanceArn
      .split('/')
      .pop()!
      .replace(/^ssoins-/, '')}`;
  }

  /**
   * The role of a permission set in an account. The suffix is derived, not drawn, so a job run again after a stop
   * finds the role it was making rather than making a second.
   */
  roleName(instanceArn: string, accountId: string, spec: Pick<RoleSpec, 'permissionSetArn' | 'permissionSetName'>) {
    const suffix = createHash('sha256').update(`${instanceArn}\n${accountId}\n${spec.permissionSetArn}`).digest('hex').slice(0, 16);
    return `${this.settings.rolePrefix}${spec.permissionSetName}_${suffix}`;
  }

  /** Creates or updates the account's SAML provider and the permission set's role in it, so both match what Gatehouse holds. */
  async provision(instanceArn: string, accountId: string, spec: RoleSpec): Promise<ProvisionedRole> {
    const iam = await this.iam(accountId);
    const providerArn = await this.ensureProvider(iam, instanceArn, accountId);
    const roleName = this.roleName(instanceArn, accountId, spec);
    const roleArn = await this.ensureRole(iam, accountId, roleName, providerArn, spec);
    return { roleName, roleArn, providerArn };
  }

  private async ensureProvider(iam: IAMClient, instanceArn: string, accountId: string): Promise<string> {
    const name = this.providerName(instanceArn);
    const arn = `arn:${this.partition}:iam::${accountId}:saml-provider/${name}`;
    const metadata = await this.samlIdp.metadata(this.signInStartUrl());
    const existing = await this.call('GetSAMLProvider', accountId, () => iam.send(new GetSAMLProviderCommand({ SAMLProviderArn: arn }))).catch(unlessMissing);
    if (!existing) {
      await this.call('CreateSAMLProvider', accountId, () =>
        iam.send(new CreateSAMLProviderCommand({ Name: name, SAMLMetadataDocument: metadata, Tags: [{ Key: ISSUED_BY_TAG, Value: 'gatehouse' }] })),
      );
    } else if (existing.SAMLMetadataDocument !== metadata) {
      // A new signing key, or a new address: AWS trusts what the provider holds, so it follows.
      await this.call('UpdateSAMLProvider', accountId, () => iam.send(new UpdateSAMLProviderCommand({ SAMLProviderArn: arn, SAMLMetadataDocument: metadata })));
    }
    return arn;
  }

  /** The trust policy of every role: only Gatehouse's provider, only for Responses addressed to the sign-in URL. */
  private trustPolicy(providerArn: string) {
    return JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: providerArn },
          Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession'],
          Condition: { StringEquals: { 'SAML:aud': this.audiences.length === 1 ? this.audiences[0] : this.audiences } },
        },
      ],
    });
  }

  private policyArn(accountId: string, ref: { Name: string; Path?: string }) {
    return `arn:${this.partition}:iam::${accountId}:policy${ref.Path ?? '/'}${ref.Name}`;
  }

  private async ensureRole(iam: IAMClient, accountId: string, roleName: string, providerArn: string, spec: RoleSpec): Promise<string> {
    const trust = this.trustPolicy(providerArn);
    const tags = [
      { Key: ISSUED_BY_TAG, Value: 'gatehouse' },
      { Key: 'gatehouse:permission-set', Value: spec.permissionSetArn },
    ];
    const existing = await this.call('GetRole', accountId, () => iam.send(new GetRoleCommand({ RoleName: roleName }))).catch(unlessMissing);
    let roleArn: string;
    if (existing?.Role) {
      const role = existing.Role;
      roleArn = role.Arn!;
      if (decodeURIComponent(role.AssumeRolePolicyDocument ?? '') !== trust) {
        await this.call('UpdateAssumeRolePolicy', accountId, () => iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: trust })));
      }
      if (role.MaxSessionDuration !== spec.sessionDurationSeconds) {
        await this.call('UpdateRole', accountId, () => iam.send(new UpdateRoleCommand({ RoleName: roleName, MaxSessionDuration: spec.sessionDurationSeconds })));
      }
    } else {
      const created = await this.call('CreateRole', accountId, () =>
        iam.send(
          new CreateRoleCommand({
            RoleName: roleName,
            Path: this.settings.rolePath,
            AssumeRolePolicyDocument: trust,
            MaxSessionDuration: spec.sessionDurationSeconds,
            Description: `Permission set ${spec.permissionSetName}, provisioned by Gatehouse`,
            Tags: tags,
          }),
        ),
      );
      roleArn = created.Role!.Arn!;
    }
    try {
      await this.alignPolicies(iam, accountId, roleName, spec, existing?.Role?.PermissionsBoundary?.PermissionsBoundaryArn);
    } catch (err) {
      // A role made by this call and left without its policies would be half-made: it goes again.
      if (!existing) await this.removeRole(accountId, roleName).catch(() => undefined);
      throw err;
    }
    return roleArn;
  }

  /** The inline policy, the attached managed policies and the boundary, brought in line with the permission set. */
  private async alignPolicies(iam: IAMClient, accountId: string, roleName: string, spec: RoleSpec, currentBoundary: string | undefined) {
    const inline = await this.call('ListRolePolicies', accountId, () => iam.send(new ListRolePoliciesCommand({ RoleName: roleName, MaxItems: 1000 })));
    if (spec.inlinePolicy !== null) {
      await this.call('PutRolePolicy', accountId, () =>
        iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: INLINE_POLICY_NAME, PolicyDocument: spec.inlinePolicy! })),
      );
    }
    for (const name of inline.PolicyNames ?? []) {
      if (name === INLINE_POLICY_NAME && spec.inlinePolicy !== null) continue;
      await this.call('DeleteRolePolicy', accountId, () => iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: name })));
    }

    const wanted = new Set([...spec.managedPolicyArns, ...spec.customerManagedPolicies.map((p) => this.policyArn(accountId, { Name: p.name, Path: p.path }))]);
    const attached = new Set((await this.attachedPolicies(iam, accountId, roleName)).map((p) => p.PolicyArn!));
    for (const arn of wanted) {
      if (!attached.has(arn)) await this.call('AttachRolePolicy', accountId, () => iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn })));
    }
    for (const arn of attached) {
      if (!wanted.has(arn)) await this.call('DetachRolePolicy', accountId, () => iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn })));
    }

    const boundary = spec.boundary ? (spec.boundary.ManagedPolicyArn ?? this.policyArn(accountId, spec.boundary.CustomerManagedPolicyReference!)) : undefined;
    if (boundary && boundary !== currentBoundary) {
      await this.call('PutRolePermissionsBoundary', accountId, () => iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: roleName, PermissionsBoundary: boundary })));
    } else if (!boundary && currentBoundary) {
      await this.call('DeleteRolePermissionsBoundary', accountId, () => iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: roleName })));
    }
  }

  private async attachedPolicies(iam: IAMClient, accountId: string, roleName: string) {
    const all = [];
    let marker: string | undefined;
    do {
      const page = await this.call('ListAttachedRolePolicies', accountId, () => iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName, Marker: marker })));
      all.push(...(page.AttachedPolicies ?? []));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return all;
  }

  /** Deletes a role Gatehouse made, its policies first as IAM requires; a role already gone is fine. */
  async removeRole(accountId: string, roleName: string): Promise<void> {
    const iam = await this.iam(accountId);
    const role = await this.call('GetRole', accountId, () => iam.send(new GetRoleCommand({ RoleName: roleName }))).catch(unlessMissing);
    if (!role) return;
    for (const p of await this.attachedPolicies(iam, accountId, roleName)) {
      await this.call('DetachRolePolicy', accountId, () => iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: p.PolicyArn })));
    }
    const inline = await this.call('ListRolePolicies', accountId, () => iam.send(new ListRolePoliciesCommand({ RoleName: roleName, MaxItems: 1000 })));
    for (const name of inline.PolicyNames ?? []) {
      await this.call('DeleteRolePolicy', accountId, () => iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: name })));
    }
    if (role.Role?.PermissionsBoundary) {
      await this.call('DeleteRolePermissionsBoundary', accountId, () => iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: roleName })));
    }
    await this.call('DeleteRole', accountId, () => iam.send(new DeleteRoleCommand({ RoleName: roleName }))).catch(unlessMissing);
  }

  /** Credentials from AWS STS for a provisioned role: AssumeRoleWithSAML with a Response Gatehouse signs for the person. */
  async credentials(
    role: { accountId: string; roleArn: string; providerArn: string },
    person: { userId: string; userName: string },
    session: { durationSeconds: number; tags: SessionTag[] },
    now: number,
  ): Promise<IssuedCredentials> {
    const sessionDurationSeconds = session.durationSeconds;
    const response = await this.signedResponse({ roleArn: role.roleArn, providerArn: role.providerArn }, person, session, this.apiRecipient, now);
    const answer = await this.call('AssumeRoleWithSAML', role.accountId, () =>
      this.sts.send(
        new AssumeRoleWithSAMLCommand({
          RoleArn: role.roleArn,
          PrincipalArn: role.providerArn,
          SAMLAssertion: Buffer.from(response).toString('base64'),
          DurationSeconds: sessionDurationSeconds,
        }),
      ),
    );
    const c = answer.Credentials!;
    return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!, expiration: c.Expiration!.getTime() };
  }

  /** A Response for the AWS console's sign-in, posted by the person's browser. */
  consoleResponse(
    role: { roleArn: string; providerArn: string },
    person: { userId: string; userName: string },
    session: { durationSeconds: number; tags: SessionTag[] },
    now: number,
  ) {
    return this.signedResponse(role, person, session, this.settings.signInUrl, now);
  }

  /** A Response for one role, as STS and the console's sign-in both take it; only where it is addressed differs. */
  private signedResponse(
    role: { roleArn: string; providerArn: string },
    person: { userId: string; userName: string },
    session: { durationSeconds: number; tags: SessionTag[] },
    recipient: string,
    now: number,
  ) {
    return this.samlIdp.response(
      { nameId: person.userId, sessionName: person.userName, roles: [role], sessionDurationSeconds: session.durationSeconds, recipient, sessionTags: session.tags },
      now,
    );
  }
}
