// STS (query protocol, XML): GetCallerIdentity for the credentials GetRoleCredentials issued, so that the credentials
// a user gets through the portal are recognised as the assumed role they stand for.
import { stsModel, type StsOperations } from '../../generated/sts.js';
import { assumedRoleArn } from '../../domain/role-credentials.js';
import { ServiceError } from '../../wire/errors.js';
import { awsQuery } from '../../wire/query.js';
import { defineService, type Handlers } from '../service.js';

const handlers: Handlers<StsOperations> = {
  async GetCallerIdentity(_input, ctx) {
    const role = ctx.roleSession;
    if (role) {
      return {
        UserId: `${role.roleId}:${role.userName}`,
        Account: role.accountId,
        Arn: assumedRoleArn(role),
      };
    }
    // An admin key stands for the management account's root.
    return { UserId: ctx.app.managementAccountId, Account: ctx.app.managementAccountId, Arn: `arn:aws:iam::${ctx.app.managementAccountId}:root` };
  },
};

// STS answers with errors its GetCallerIdentity model does not list: the query protocol's own codes.

/** The signature errors in STS's words, with the status STS answers each with. */
const AUTH_ERRORS: Record<string, [code: string, status: number]> = {
  UnrecognizedClientException: ['InvalidClientTokenId', 403],
  ExpiredTokenException: ['ExpiredToken', 403],
  InvalidSignatureException: ['SignatureDoesNotMatch', 403],
  MissingAuthenticationTokenException: ['MissingAuthenticationToken', 403],
  IncompleteSignatureException: ['IncompleteSignature', 400],
};

export const sts = () =>
  defineService<StsOperations>(stsModel, awsQuery, handlers, {
    auth: 'sigv4-any',
    validationError: (message) => new ServiceError('ValidationError', message),
    bodyTooLarge: (message) => new ServiceError('RequestEntityTooLarge', message, {}, { status: 413 }),
    bodiesThrottled: () => new ServiceError('Throttling', 'Rate exceeded', {}, { status: 400 }),
    authError: (err) => {
      const own = AUTH_ERRORS[err.code];
      return own ? new ServiceError(own[0], err.message, {}, { status: own[1] }) : err;
    },
  });
