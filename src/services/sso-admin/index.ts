// The SSO Admin API (awsJson1_1, target prefix SWBExternalService).
import { ssoAdminModel, type SsoAdminOperations } from '../../generated/sso-admin.js';
import { awsJson } from '../../wire/awsjson.js';
import { defineService } from '../service.js';
import { instanceHandlers } from './instances.js';

export const ssoAdmin = () =>
  defineService<SsoAdminOperations>(ssoAdminModel, awsJson, { ...instanceHandlers }, { auth: 'sigv4', validationErrorCode: 'ValidationException' });
