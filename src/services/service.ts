// What an operation handler is given, and how a service ties its handlers to its generated model.
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
import { InputCodec } from '../wire/validate.js';

/** Everything long-lived that handlers share. */
export interface App {
  config: Config;
  storage: Storage;
  secrets: SecretBox;
  log: Logger;
  pageTokens: PageTokens;
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
type OperationTable<Ops> = { [K in keyof Ops]: { input: unknown; output: unknown } };
export type Handlers<Ops extends OperationTable<Ops>> = { [K in keyof Ops]?: Handler<Ops[K]['input'], Ops[K]['output']> };

export interface ServiceDefinition extends WireService {
  protocol: Protocol;
  /**
   * `sigv4`: every request must carry a valid signature from an admin key; `sigv4-any`: from an admin key or from
   * credentials Gatehouse issued (STS); `none`: the operation authenticates itself.
   */
  auth: 'sigv4' | 'sigv4-any' | 'none';
  handlers: Record<string, Handler<any, any> | undefined>;
}

export function defineService<Ops extends OperationTable<Ops>>(
  model: ServiceModel,
  protocol: Protocol,
  handlers: Handlers<Ops>,
  opts: { auth: ServiceDefinition['auth']; validationErrorCode: string; errorBody?: (err: ServiceError) => Record<string, unknown> },
): ServiceDefinition {
  for (const op of Object.keys(handlers)) {
    if (!model.operations[op]) throw new Error(`${model.id} has no operation ${op}`);
  }
  return {
    model,
    codec: new InputCodec(model),
    protocol,
    auth: opts.auth,
    handlers: handlers as Record<string, Handler<any, any>>,
    validationErrorCode: opts.validationErrorCode,
    errorBody: opts.errorBody,
  };
}
