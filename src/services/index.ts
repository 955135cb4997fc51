// Every service Gatehouse answers on its one origin. Operations without a handler answer UnknownOperationException
// (or the protocol's equivalent) until they are built.
import { identityStore } from './identitystore/index.js';
import { ssoAdmin } from './sso-admin/index.js';
import { sso } from './sso/index.js';
import { ssoOidc } from './sso-oidc/index.js';
import type { ServiceDefinition } from './service.js';
import { sts } from './sts/index.js';

export function allServices(): ServiceDefinition[] {
  return [identityStore(), ssoAdmin(), sso(), ssoOidc(), sts()];
}

/** The operations each service answers (by its model id), as the models name them: what the tests check coverage of. */
export function implementedOperations(): Record<string, string[]> {
  return Object.fromEntries(allServices().map((s) => [s.model.id, Object.keys(s.handlers).sort()]));
}
