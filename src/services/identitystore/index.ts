// The Identity Store API (awsJson1_1, target prefix AWSIdentityStore), all 19 operations.
import { identityStoreErrors, identityStoreModel, type IdentityStoreOperations } from '../../generated/identitystore.js';
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
    {
      auth: 'sigv4',
      auditWrites: true,
      validationError: identityStoreErrors.ValidationException,
      // Every identitystore error names its request in the body too (the model's RequestId member), as AWS's do.
      errorBody: (body, _err, requestId) => ('RequestId' in body ? body : { ...body, RequestId: requestId }),
      // Its ThrottlingException says when to retry. 429 where the model gives no status (awsJson's default is 400).
      bodiesThrottled: (message) => identityStoreErrors.ThrottlingException(message, { RetryAfterSeconds: 1 }).withStatus(429),
    },
  );
