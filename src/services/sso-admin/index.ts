// The SSO Admin API (awsJson1_1, target prefix SWBExternalService).
import { ssoAdminErrors, ssoAdminModel, type SsoAdminOperations } from '../../generated/sso-admin.js';
import { awsJson } from '../../wire/awsjson.js';
import { defineService } from '../service.js';
import { applicationHandlers } from './applications.js';
import { applicationSettingsHandlers } from './application-settings.js';
import { assignmentHandlers } from './assignments.js';
import { instanceHandlers } from './instances.js';
import { permissionSetHandlers } from './permission-sets.js';
import { policyHandlers } from './policies.js';
import { provisioningHandlers } from './provisioning.js';
import { regionHandlers } from './regions.js';
import { tagHandlers } from './tags.js';
import { trustedTokenIssuerHandlers } from './trusted-token-issuers.js';

export const ssoAdmin = () =>
  defineService<SsoAdminOperations>(
    ssoAdminModel,
    awsJson,
    {
      ...instanceHandlers,
      ...permissionSetHandlers,
      ...policyHandlers,
      ...tagHandlers,
      ...assignmentHandlers,
      ...provisioningHandlers,
      ...trustedTokenIssuerHandlers,
      ...regionHandlers,
      ...applicationHandlers,
      ...applicationSettingsHandlers,
    },
    {
      auth: 'sigv4',
      auditWrites: true,
      validationError: ssoAdminErrors.ValidationException,
      // 429 where the model gives no status (awsJson's default is 400); the assignment operations' own stays 400.
      bodiesThrottled: (message) => ssoAdminErrors.ThrottlingException(message).withStatus(429),
    },
  );
