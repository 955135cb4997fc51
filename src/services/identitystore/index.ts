// The Identity Store API (awsJson1_1, target prefix AWSIdentityStore), all 19 operations.
import { identityStoreModel, type IdentityStoreOperations } from '../../generated/identitystore.js';
import { awsJson } from '../../wire/awsjson.js';
import { defineService } from '../service.js';
import { groupHandlers } from './groups.js';
import { membershipHandlers } from './memberships.js';
import { userHandlers } from './users.js';

export const identityStore = () =>
  defineService<IdentityStoreOperations>(
    identityStoreModel,
    awsJson,
    { ...userHandlers, ...groupHandlers, ...membershipHandlers },
    { auth: 'sigv4', validationErrorCode: 'ValidationException' },
  );
