// Every service Gatehouse answers on its one origin. Operations without a handler answer UnknownOperationException
// (or the protocol's equivalent) until they are built.
import { ssoModel, type SsoOperations } from '../generated/sso.js';
import { stsModel, type StsOperations } from '../generated/sts.js';
import { awsQuery } from '../wire/query.js';
import { restJson } from '../wire/restjson.js';
import { identityStore } from './identitystore/index.js';
import { ssoAdmin } from './sso-admin/index.js';
import { ssoOidc } from './sso-oidc/index.js';
import { defineService, type ServiceDefinition } from './service.js';

export function allServices(): ServiceDefinition[] {
  return [
    identityStore(),
    ssoAdmin(),
    defineService<SsoOperations>(ssoModel, restJson, {}, { auth: 'none', validationErrorCode: 'InvalidRequestException' }),
    ssoOidc(),
    defineService<StsOperations>(stsModel, awsQuery, {}, { auth: 'none', validationErrorCode: 'ValidationError' }),
  ];
}
