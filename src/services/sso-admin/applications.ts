// Customer managed applications: CreateApplication, DescribeApplication, UpdateApplication, DeleteApplication,
// ListApplications; the catalogue of application providers; the users and groups assigned to an application and its
// assignment and session configurations.
import { createHash } from 'node:crypto';
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { ApplicationProvider, PortalOptions, SignInOptions, SsoAdminOperations, Tag } from '../../generated/sso-admin.js';
import type { ApplicationTable, InstanceTable } from '../../storage/schema.js';
import { pageScope } from '../../wire/pagination.js';
import type { Handlers } from '../service.js';
import { conflict, invalid, newApplicationArn, notFound, requireApplication, requireInstance, instanceLock } from './common.js';
import {
  applicationsPage,
  assignmentsPage,
  deleteApplication,
  deleteAssignment,
  findAssignment,
  insertApplication,
  insertAssignment,
  principalAssignmentsPage,
  principalInStore,
  rememberApplicationToken,
  rememberedApplicationToken,
  updateApplication,
  type RememberedApplicationToken,
} from './applications-store.js';
import { putTags } from './tags.js';

const CUSTOM_OAUTH = 'arn:aws:sso::aws:applicationProvider/custom';
const CUSTOM_SAML = 'arn:aws:sso::aws:applicationProvider/custom-saml';

/**
 * The application providers Gatehouse knows, in ARN order: Identity Center's two for customer managed applications.
 * The OAuth one is a resource server without scopes of its own (an application's access scopes are Identity Center's,
 * set per application); the icons are placeholders, as Gatehouse serves none.
 */
export const APPLICATION_PROVIDERS: readonly ApplicationProvider[] = [
  {
    ApplicationProviderArn: CUSTOM_OAUTH,
    FederationProtocol: 'OAUTH',
    DisplayData: {
      DisplayName: 'Custom OAuth 2.0 application',
      Description: 'A customer managed application that signs users in with OAuth 2.0 through IAM Identity Center.',
      IconUrl: 'https://gatehouse.invalid/icons/custom-oauth.svg',
    },
    ResourceServerConfig: { Scopes: {} },
  },
  {
    ApplicationProviderArn: CUSTOM_SAML,
    FederationProtocol: 'SAML',
    DisplayData: {
      DisplayName: 'Custom SAML 2.0 application',
      Description: 'A customer managed application that signs users in with SAML 2.0 through IAM Identity Center.',
      IconUrl: 'https://gatehouse.invalid/icons/custom-saml.svg',
    },
  },
];

function requireProvider(arn: string): ApplicationProvider {
  const provider = APPLICATION_PROVIDERS.find((p) => p.ApplicationProviderArn === arn);
  if (!provider) throw notFound(`ApplicationProvider ${arn} does not exist`);
  return provider;
}

/** The identity store's ARN, as AWS writes it: under the instance's owner account. */
const identityStoreArn = (instance: Pick<InstanceTable, 'owner_account_id' | 'identity_store_id'>) =>
  `arn:aws:identitystore::${instance.owner_account_id}:identitystore/${instance.identity_store_id}`;

/** Origin APPLICATION sends users to the ApplicationUrl, so it needs one (as the model's documentation says). */
function checkSignInOptions(options: SignInOptions | undefined) {
  if (options?.Origin === 'APPLICATION' && options.ApplicationUrl === undefined) {
    throw invalid('SignInOptions with Origin APPLICATION require an ApplicationUrl.');
  }
}

/** An application as DescribeApplication and ListApplications show it: flat, without tags. */
function applicationShape(row: Selectable<ApplicationTable>, instance: Pick<InstanceTable, 'owner_account_id' | 'identity_store_id'>) {
  const portalOptions: PortalOptions = {
    ...(row.sign_in_origin !== null
      ? { SignInOptions: { Origin: row.sign_in_origin as SignInOptions['Origin'], ...(row.application_url !== null ? { ApplicationUrl: row.application_url } : {}) } }
      : {}),
    // An application is shown in the access portal unless created hidden.
    Visibility: (row.portal_visibility ?? 'ENABLED') as PortalOptions['Visibility'],
  };
  return {
    ApplicationArn: row.application_arn,
    ApplicationProviderArn: row.application_provider_arn,
    Name: row.name,
    ApplicationAccount: row.application_account,
    InstanceArn: row.instance_arn,
    IdentityStoreArn: identityStoreArn(instance),
    Status: row.status,
    PortalOptions: portalOptions,
    ...(row.description !== null ? { Description: row.description } : {}),
    CreatedDate: new Date(Number(row.created_at)),
    CreatedFrom: row.created_from,
  };
}

/** What a ClientToken is bound to: every parameter of the request, tags in key order. */
function requestDigest(input: SsoAdminOperations['CreateApplication']['input']): string {
  const tags = [...(input.Tags ?? [])].sort((a: Tag, b: Tag) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0)).map((t) => [t.Key, t.Value]);
  const options = input.PortalOptions;
  return createHash('sha256')
    .update(
      JSON.stringify([
        input.InstanceArn,
        input.ApplicationProviderArn,
        input.Name,
        input.Description ?? null,
        options?.Visibility ?? null,
        options?.SignInOptions?.Origin ?? null,
        options?.SignInOptions?.ApplicationUrl ?? null,
        input.Status ?? null,
        tags,
      ]),
    )
    .digest('base64url');
}

const assignmentNotFound = (applicationArn: string, type: string, id: string) => notFound(`No application assignment exists for ${type} ${id} in application ${applicationArn}`);

export const applicationHandlers: Handlers<SsoAdminOperations> = {
  async CreateApplication(input, ctx) {
    const provider = requireProvider(input.ApplicationProviderArn);
    // As in AWS: customer managed SAML applications are set up in the console, not through this API.
    if (provider.FederationProtocol !== 'OAUTH') {
      throw invalid(`CreateApplication creates OAuth 2.0 applications only; ${input.ApplicationProviderArn} is a SAML 2.0 provider.`);
    }
    checkSignInOptions(input.PortalOptions?.SignInOptions);
    const { storage, config } = ctx.app;
    const digest = requestDigest(input);
    const clientToken = input.ClientToken;
    const mismatch = () => conflict('The ClientToken was already used with different parameters (IdempotentParameterMismatch).');
    try {
      const { row, instance } = await storage.transaction(
        async (trx) => {
          const instance = await requireInstance(trx, input.InstanceArn);
          if (clientToken !== undefined) {
            const earlier = await rememberedApplicationToken(trx, clientToken);
            if (earlier) {
              if (earlier.Request !== digest) throw mismatch();
              return { row: await requireApplication(trx, earlier.ApplicationArn), instance };
            }
          }
          const row: Insertable<ApplicationTable> = {
            application_arn: newApplicationArn(instance),
            instance_arn: instance.instance_arn,
            application_provider_arn: input.ApplicationProviderArn,
            // The admin key signs as the management account, which owns the instance: the application's account.
            application_account: instance.owner_account_id,
            name: input.Name,
            description: input.Description ?? null,
            status: input.Status ?? 'ENABLED',
            portal_visibility: input.PortalOptions?.Visibility ?? null,
            sign_in_origin: input.PortalOptions?.SignInOptions?.Origin ?? null,
            application_url: input.PortalOptions?.SignInOptions?.ApplicationUrl ?? null,
            created_from: config.region,
            created_at: ctx.now,
          };
          await insertApplication(trx, row);
          if (input.Tags?.length) await putTags(trx, row.application_arn, input.Tags);
          if (clientToken !== undefined) {
            const remembered: RememberedApplicationToken = { ApplicationArn: row.application_arn, Request: digest };
            await rememberApplicationToken(trx, clientToken, remembered);
          }
          return { row, instance };
        },
        // DeleteInstance takes this lock too, so no application slips into an instance being deleted.
        { lock: instanceLock(input.InstanceArn) },
      );
      return { ApplicationArn: row.application_arn, InstanceArn: row.instance_arn, IdentityStoreArn: identityStoreArn(instance) };
    } catch (err) {
      // The same token used at once for another instance (whose lock this request did not hold).
      if (storage.isUniqueViolation(err)) throw mismatch();
      throw err;
    }
  },

  async DescribeApplication(input, ctx) {
    const db = ctx.app.storage.db;
    const row = await requireApplication(db, input.ApplicationArn);
    return applicationShape(row, await requireInstance(db, row.instance_arn));
  },

  async UpdateApplication(input, ctx) {
    const signIn = input.PortalOptions?.SignInOptions;
    checkSignInOptions(signIn);
    await ctx.app.storage.transaction(async (trx) => {
      await requireApplication(trx, input.ApplicationArn);
      const changes: Updateable<ApplicationTable> = {
        ...(input.Name !== undefined ? { name: input.Name } : {}),
        ...(input.Description !== undefined ? { description: input.Description } : {}),
        ...(input.Status !== undefined ? { status: input.Status } : {}),
        // The sign-in options given replace the earlier ones whole; Visibility cannot be changed here (as in AWS).
        ...(signIn !== undefined ? { sign_in_origin: signIn.Origin, application_url: signIn.ApplicationUrl ?? null } : {}),
      };
      if (Object.keys(changes).length > 0) await updateApplication(trx, input.ApplicationArn, changes);
    });
    return {};
  },

  async DeleteApplication(input, ctx) {
    await ctx.app.storage.transaction(
      async (trx) => {
        await requireApplication(trx, input.ApplicationArn);
        await deleteApplication(trx, input.ApplicationArn);
      },
      { lock: `sso-admin:application:${input.ApplicationArn}` },
    );
    return {};
  },

  async ListApplications(input, ctx) {
    const db = ctx.app.storage.db;
    const instance = await requireInstance(db, input.InstanceArn);
    const filter = { account: input.Filter?.ApplicationAccount, provider: input.Filter?.ApplicationProvider };
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListApplications', input.InstanceArn, filter.account, filter.provider),
      input,
      (after, limit) => applicationsPage(db, input.InstanceArn, filter, after, limit),
      (r) => r.application_arn,
    );
    return { Applications: items.map((r) => applicationShape(r, instance)), NextToken };
  },

  async ListApplicationProviders(input, ctx) {
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListApplicationProviders'),
      input,
      async (after, limit) => APPLICATION_PROVIDERS.filter((p) => after === undefined || p.ApplicationProviderArn > after).slice(0, limit),
      (p) => p.ApplicationProviderArn,
    );
    return { ApplicationProviders: items, NextToken };
  },

  async DescribeApplicationProvider(input) {
    return requireProvider(input.ApplicationProviderArn);
  },

  async CreateApplicationAssignment(input, ctx) {
    const { storage } = ctx.app;
    try {
      await storage.transaction(
        async (trx) => {
          const application = await requireApplication(trx, input.ApplicationArn);
          const instance = await requireInstance(trx, application.instance_arn);
          if (!(await principalInStore(trx, instance.identity_store_id, input.PrincipalType, input.PrincipalId))) {
            throw notFound(`${input.PrincipalType} ${input.PrincipalId} does not exist in identity store ${instance.identity_store_id}`);
          }
          const existing = await findAssignment(trx, input.ApplicationArn, input.PrincipalId);
          // Assigning again what is assigned succeeds and changes nothing, as a retry expects.
          if (existing) return;
          await insertAssignment(trx, {
            application_arn: input.ApplicationArn,
            principal_id: input.PrincipalId,
            principal_type: input.PrincipalType,
            instance_arn: application.instance_arn,
            created_at: ctx.now,
          });
        },
        { lock: `sso-admin:application:${input.ApplicationArn}` },
      );
    } catch (err) {
      // The same assignment made at once by another request: it exists, which is what was asked.
      if (!storage.isUniqueViolation(err)) throw err;
    }
    return {};
  },

  async DescribeApplicationAssignment(input, ctx) {
    const db = ctx.app.storage.db;
    await requireApplication(db, input.ApplicationArn);
    const row = await findAssignment(db, input.ApplicationArn, input.PrincipalId);
    if (!row || row.principal_type !== input.PrincipalType) throw assignmentNotFound(input.ApplicationArn, input.PrincipalType, input.PrincipalId);
    return { ApplicationArn: row.application_arn, PrincipalType: row.principal_type, PrincipalId: row.principal_id };
  },

  async DeleteApplicationAssignment(input, ctx) {
    await ctx.app.storage.transaction(async (trx) => {
      await requireApplication(trx, input.ApplicationArn);
      const deleted = await deleteAssignment(trx, input.ApplicationArn, input.PrincipalType, input.PrincipalId);
      if (Number(deleted.numDeletedRows) === 0) throw assignmentNotFound(input.ApplicationArn, input.PrincipalType, input.PrincipalId);
    });
    return {};
  },

  async ListApplicationAssignments(input, ctx) {
    const db = ctx.app.storage.db;
    await requireApplication(db, input.ApplicationArn);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListApplicationAssignments', input.ApplicationArn),
      input,
      (after, limit) => assignmentsPage(db, input.ApplicationArn, after, limit),
      (r) => r.principal_id,
    );
    return {
      ApplicationAssignments: items.map((r) => ({ ApplicationArn: r.application_arn, PrincipalType: r.principal_type, PrincipalId: r.principal_id })),
      NextToken,
    };
  },

  async ListApplicationAssignmentsForPrincipal(input, ctx) {
    const db = ctx.app.storage.db;
    await requireInstance(db, input.InstanceArn);
    const principal = { instanceArn: input.InstanceArn, type: input.PrincipalType, id: input.PrincipalId, applicationArn: input.Filter?.ApplicationArn };
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListApplicationAssignmentsForPrincipal', input.InstanceArn, input.PrincipalType, input.PrincipalId, principal.applicationArn),
      input,
      (after, limit) => principalAssignmentsPage(db, principal, after, limit),
      (r) => r.application_arn,
    );
    return {
      ApplicationAssignments: items.map((r) => ({ ApplicationArn: r.application_arn, PrincipalType: r.principal_type, PrincipalId: r.principal_id })),
      NextToken,
    };
  },

  async GetApplicationAssignmentConfiguration(input, ctx) {
    const row = await requireApplication(ctx.app.storage.db, input.ApplicationArn);
    return { AssignmentRequired: Number(row.assignment_required) !== 0 };
  },

  async PutApplicationAssignmentConfiguration(input, ctx) {
    await ctx.app.storage.transaction(async (trx) => {
      await requireApplication(trx, input.ApplicationArn);
      await updateApplication(trx, input.ApplicationArn, { assignment_required: input.AssignmentRequired ? 1 : 0 });
    });
    return {};
  },

  async GetApplicationSessionConfiguration(input, ctx) {
    const row = await requireApplication(ctx.app.storage.db, input.ApplicationArn);
    return { UserBackgroundSessionApplicationStatus: row.user_background_sessions };
  },

  async PutApplicationSessionConfiguration(input, ctx) {
    const status = input.UserBackgroundSessionApplicationStatus;
    await ctx.app.storage.transaction(async (trx) => {
      await requireApplication(trx, input.ApplicationArn);
      if (status !== undefined) await updateApplication(trx, input.ApplicationArn, { user_background_sessions: status });
    });
    return {};
  },
};
