// Every service Gatehouse answers on its one origin. Operations without a handler answer UnknownOperationException
// (or the protocol's equivalent) until they are built.
import { identityStore } from './identitystore/index.js';
import { ssoAdmin } from './sso-admin/index.js';
import { sso } from './sso/index.js';
import { ssoOidc } from './sso-oidc/index.js';
import type { ServiceDefinition } from './service.js';
import { sts } from './sts/index.js';

export function allServices(): ServiceDefinition[] {
  return [
    identityStore(),
    ssoAdmin(),
    sso(),
    ssoOidc(),
    sts(),
  ];
}
