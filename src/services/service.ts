// What an operation handler is given, and how a service ties its handlers to its generated model.
import type { AdminKeys } from '../admin-keys.js';
import type { Config } from '../config.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Logger } from '../log.js';
import type { Storage } from '../storage/storage.js';
import type { ServiceError } from '../wire/errors.js';
import type { ServiceModel } from '../wire/model.js';
import type { PageTokens } from '../wire/pagination.js';
import type { JsonAnswer, Protocol, WireService } from '../wire/protocol.js';
import type { VerifiedCaller } from '../wire/sigv4.js';
import type { RoleSession } from '../domain/role-credentials.js';
import type { Janitor } from '../domain/janitor.js';
import type { Entitlements } from '../domain/entitlements.js';
import type { AwsFederation } from '../domain/federation.js';
import type { SamlIdp } from '../domain/saml-idp.js';
import type { IdTokenKey } from '../domain/oauth/id-token-key.js';
import type { TrustedIssuerKeys } from '../domain/oauth/issuer-keys.js';
import { InputCodec } from '../wire/validate.js';

/** Everything long-lived that handlers share. */
export interface App {
  config: Config;
  storage: Storage;
  secrets: SecretBox;
  /** The admin keys that may sign, as far as this process has found them (admin-keys.ts). */
  adminKeys: AdminKeys;
  log: Logger;
  pageTokens: PageTokens;
  /** What the portal's users reach, with the answers this process keeps (domain/entitlements.ts). */
  entitlements: Entitlements;
  /** Gatehouse as a SAML identity provider for AWS: its signing key, metadata and signed Responses. */
  samlIdp: SamlIdp;
  /** The key CreateTokenWithIAM's ID tokens are signed with, published at /.well-known/jwks.json. */
  idTokenKey: IdTokenKey;
  /** Trusted token issuers' key sets, fetched by OpenID discovery and kept for a while. */
  issuerKeys: TrustedIssuerKeys;
  /** Set when roles live in real AWS accounts and credentials come from AWS STS (config awsFederation). */
  federation?: AwsFederation;
  /** The organization's management account: it owns the bootstrap instance and signs as the admin principal. */
  managementAccountId: string;
  /** Removes expired sign-in state in the background; `sweep()` runs a sweep now. */
  janitor: Janitor;
  /** The time, epoch ms: Date.now, unless a test moves it on instead of waiting. */
  clock: () => number;
  /** Stops background work and closes the database. */
  close(): Promise<void>;
}

export interface Context {
  app: App;
  requestId: string;
  /** The SigV4 caller, for services that require a signature. */
  caller?: VerifiedCaller;
  /** For a request signed with credentials from GetRoleCredentials: the role session they belong to. */
  roleSession?: RoleSession;
  sourceIp: string;
  /** Where clients reach this server (`http://host:port`), for URLs it hands out. */
  origin: string;
  /** The time the request arrived, epoch ms; one clock reading per request keeps timestamps consistent. */
  now: number;
}

/** A handler answers with its output, or with the output already written as JSON (wire/protocol.ts, JsonAnswer). */
export type Handler<I, O> = (input: I, ctx: Context) => Promise<O | JsonAnswer>;
/** A handler once its operation's types are erased: the request path gives it the input the codec decoded for that operation. */
// biome-ignore lint/suspicious/noExplicitAny: the table holds handlers of every operation; defineService checked each one's types.
type AnyHandler = Handler<any, any>;
type OperationTable<Ops> = { [K in keyof Ops]: { input: unknown; output: unknown } };
export type Handlers<Ops extends OperationTable<Ops>> = { [K in keyof Ops]?: Handler<Ops[K]['input'], Ops[K]['output']> };

export interface ServiceDefinition extends WireService {
  protocol: Protocol;
  /**
   * `sigv4`: every request must carry a valid signature from an admin key; `sigv4-any`: from an admin key or from
   * credentials Gatehouse issued (STS); `none`: the operation authenticates itself. An operation the model marks
   * `authtype: none` is never signed, whatever the service's rule (sso-oidc: all but CreateTokenWithIAM).
   */
  auth: 'sigv4' | 'sigv4-any' | 'none';
  handlers: Record<string, AnyHandler | undefined>;
  // How the service answers what the request path refuses before a handler runs, where its clients expect its own
  // error (docs/behaviour.md, "Request limits"). Unset: the framework errors of src/wire/errors.ts.
  /** A body larger than the service takes (unset: RequestEntityTooLargeException, 413). */
  bodyTooLarge?: (message: string) => ServiceError;
  /** A body while the process holds all the body bytes it may (unset: TooManyRequestsException, 429). */
  bodiesThrottled?: (message: string) => ServiceError;
  /** A refused signature, in the service's own words (unset: as src/wire/sigv4.ts raises it). */
  authError?: (err: ServiceError) => ServiceError;
  /** Every successful operation that is not a Describe, List, Get or Is leaves an audit line (an admin's write). */
  auditWrites?: boolean;
}

type ServiceOptions = Pick<ServiceDefinition, 'auth' | 'validationError'> &
  Partial<Pick<ServiceDefinition, 'errorBody' | 'bodyTooLarge' | 'bodiesThrottled' | 'authError' | 'auditWrites'>>;

export function defineService<Ops extends OperationTable<Ops>>(model: ServiceModel, protocol: Protocol, handlers: Handlers<Ops>, opts: ServiceOptions): ServiceDefinition {
  const table: Record<string, AnyHandler | undefined> = {};
  for (const [op, handler] of Object.entries(handlers as Record<string, AnyHandler | undefined>)) {
    if (!model.operations[op]) throw new Error(`${model.id} has no operation ${op}`);
    const cap = handler && pageCap(model, op);
    table[op] = handler && cap ? capPage(handler, cap) : handler;
  }
  return {
    model,
    codec: new InputCodec(model),
    protocol,
    handlers: table,
    ...opts,
  };
}

/**
 * Where a paginated operation's output list holds fewer items than its input's MaxResults allows (sso-admin's
 * ListApplications: 50 against 100, ListInstances: 10), the largest page the answer may carry: the model's own
 * limit, read once from it. Undefined where MaxResults already fits.
 */
export function pageCap(model: ServiceModel, operation: string): { member: string; max: number } | undefined {
  const op = model.operations[operation];
  const input = op?.input ? model.shapes[op.input] : undefined;
  const output = op?.output ? model.shapes[op.output] : undefined;
  if (!op?.paginated || input?.type !== 'structure' || output?.type !== 'structure') return undefined;
  const member = Object.keys(input.members).find((m) => m.toLowerCase() === 'maxresults');
  if (member === undefined) return undefined;
  const limit = model.shapes[input.members[member].shape];
  let max: number | undefined;
  for (const ref of Object.values(output.members)) {
    const list = model.shapes[ref.shape];
    if (list?.type === 'list' && list.max !== undefined) max = Math.min(max ?? list.max, list.max);
  }
  if (max === undefined || (limit?.type === 'integer' && limit.max !== undefined && limit.max <= max)) return undefined;
  return { member, max };
}

/** The handler given MaxResults no larger than the cap, and the cap when MaxResults is absent. */
function capPage(handler: AnyHandler, cap: { member: string; max: number }): AnyHandler {
  return (input: Record<string, unknown>, ctx) => {
    const asked = input[cap.member];
    return handler({ ...input, [cap.member]: typeof asked === 'number' ? Math.min(asked, cap.max) : cap.max }, ctx);
  };
}
