// STS (query protocol, XML): GetCallerIdentity for the credentials GetRoleCredentials issued, so that the credentials
// a user gets through the portal are recognised as the assumed role they stand for.
import { stsModel, type StsOperations } from '../../generated/sts.js';
import { awsQuery } from '../../wire/query.js';
import { defineService, type Handlers } from '../service.js';

const handlers: Handlers<StsOperations> = {
  async GetCallerIdentity(_input, ctx) {
    const role = ctx.roleSession;
    if (role) {
      return {
        UserId: `${role.roleId}:${role.userName}`,
        Account: role.accountId,
        Arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${role.userName}`,
      };
    }
    // An admin key stands for the management account's root.
    return { UserId: ctx.app.managementAccountId, Account: ctx.app.managementAccountId, Arn: `arn:aws:iam::${ctx.app.managementAccountId}:root` };
  },
};

export const sts = () => defineService<StsOperations>(stsModel, awsQuery, handlers, { auth: 'sigv4-any', validationErrorCode: 'ValidationError' });
