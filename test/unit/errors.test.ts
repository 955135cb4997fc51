// The generated error constructors against the botocore models they come from: each modeled error of a service's
// operations has one, with the shape's name as its code, the model's HTTP status and its fault.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { identityStoreErrors, identityStoreModel } from '../../src/generated/identitystore.js';
import { ssoAdminErrors, ssoAdminModel } from '../../src/generated/sso-admin.js';
import { ssoOidcErrors, ssoOidcModel } from '../../src/generated/sso-oidc.js';
import { ssoErrors, ssoModel } from '../../src/generated/sso.js';
import { stsErrors, stsModel } from '../../src/generated/sts.js';
import { oauthError } from '../../src/domain/oauth.js';
import { ServiceError } from '../../src/wire/errors.js';
import type { ServiceModel } from '../../src/wire/model.js';

interface BotocoreShape {
  exception?: boolean;
  fault?: boolean;
  error?: { httpStatusCode?: number; senderFault?: boolean };
}

const dataDir =
  process.env.BOTOCORE_DATA ?? join(execFileSync('python3', ['-c', 'import botocore,os;print(os.path.dirname(botocore.__file__))'], { encoding: 'utf8' }).trim(), 'data');

function botocoreShapes(id: string): Record<string, BotocoreShape> {
  const version = readdirSync(join(dataDir, id)).sort().at(-1)!;
  const file = join(dataDir, id, version, 'service-2.json');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : gunzipSync(readFileSync(`${file}.gz`)).toString('utf8');
  return (JSON.parse(text) as { shapes: Record<string, BotocoreShape> }).shapes;
}

type Constructors = Record<string, (message: string, fields?: Record<string, unknown>) => ServiceError>;

const SERVICES: Array<[ServiceModel, Constructors]> = [
  [identityStoreModel, identityStoreErrors],
  [ssoAdminModel, ssoAdminErrors],
  [ssoModel, ssoErrors],
  [ssoOidcModel, ssoOidcErrors as Constructors],
  [stsModel, stsErrors],
];

describe('generated error constructors', () => {
  for (const [model, errors] of SERVICES) {
    test(`${model.id}: one per error its operations list, with the model's code, status and fault`, () => {
      const shapes = botocoreShapes(model.id);
      const listed = new Set(Object.values(model.operations).flatMap((o) => o.errors));
      assert.deepEqual(Object.keys(errors).sort(), [...listed].sort());
      for (const name of listed) {
        const err = errors[name]('text');
        const shape = shapes[name];
        assert.ok(err instanceof ServiceError);
        assert.equal(err.code, name);
        assert.equal(err.message, 'text');
        assert.equal(err.status, shape.error?.httpStatusCode, `${model.id} ${name} status`);
        assert.equal(err.fault, shape.fault || shape.error?.senderFault === false ? 'server' : 'client', `${model.id} ${name} fault`);
      }
    });
  }

  test('a few by name, with their modeled members', () => {
    const notFound = identityStoreErrors.ResourceNotFoundException('USER not found.', { ResourceType: 'USER', ResourceId: 'u-1' });
    assert.deepEqual(
      [notFound.code, notFound.status, notFound.fault, notFound.fields],
      ['ResourceNotFoundException', undefined, 'client', { ResourceType: 'USER', ResourceId: 'u-1' }],
    );
    const conflict = identityStoreErrors.ConflictException('taken', { Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION' });
    assert.deepEqual(conflict.fields, { Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION' });
    const throttled = identityStoreErrors.ThrottlingException('slow', { RetryAfterSeconds: 1 });
    assert.deepEqual([throttled.code, throttled.fields], ['ThrottlingException', { RetryAfterSeconds: 1 }]);
    assert.equal(identityStoreErrors.InternalServerException('x').fault, 'server');

    const quota = ssoAdminErrors.ServiceQuotaExceededException('full');
    assert.deepEqual([quota.code, quota.status, quota.fault, quota.fields], ['ServiceQuotaExceededException', undefined, 'client', {}]);
    assert.equal(ssoAdminErrors.InternalServerException('x').fault, 'server');

    assert.equal(ssoErrors.UnauthorizedException('x').status, 401);
    assert.equal(ssoErrors.ResourceNotFoundException('x').status, 404);
    assert.equal(ssoErrors.TooManyRequestsException('x').status, 429);

    assert.equal(ssoOidcErrors.InvalidClientException('x').status, 401);
    assert.deepEqual([ssoOidcErrors.InternalServerException('x').status, ssoOidcErrors.InternalServerException('x').fault], [500, 'server']);
    assert.deepEqual(Object.keys(stsErrors), []);
  });

  test('withStatus keeps code, text, fields and fault', () => {
    const err = identityStoreErrors.ThrottlingException('slow', { RetryAfterSeconds: 1 }).withStatus(429);
    assert.deepEqual([err.code, err.message, err.fields, err.fault, err.status], ['ThrottlingException', 'slow', { RetryAfterSeconds: 1 }, 'client', 429]);
  });

  test('OAuth errors carry their `error` value (RFC 6749 §5.2, RFC 8628 §3.5)', () => {
    const cases: Array<[Parameters<typeof oauthError>[0], string, number]> = [
      ['InvalidGrantException', 'invalid_grant', 400],
      ['AuthorizationPendingException', 'authorization_pending', 400],
      ['SlowDownException', 'slow_down', 400],
      ['InvalidClientException', 'invalid_client', 401],
      ['UnsupportedGrantTypeException', 'unsupported_grant_type', 400],
    ];
    for (const [code, error, status] of cases) {
      const err = oauthError(code, 'why');
      assert.deepEqual([err.code, err.fields.error, err.status, err.message], [code, error, status, 'why']);
    }
  });
});
