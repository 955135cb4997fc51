// Errors are values whose name is the error code on the wire. Services throw the ServiceErrors their generated model
// constructs (`<service>Errors` in src/generated/); the protocol layer writes them the way the service's clients read
// them (see docs/wire.md). The errors below are those no model lists.

export type Fault = 'client' | 'server';

export class ServiceError extends Error {
  /** The error shape name, e.g. `ResourceNotFoundException`; clients map it to their exception classes. */
  readonly code: string;
  /** Extra members of the modeled error shape (Reason, ResourceType, ResourceId, RetryAfterSeconds, …). */
  readonly fields: Record<string, unknown>;
  readonly fault: Fault;
  /** When set, the HTTP status to use instead of the protocol's default for this code. */
  readonly status?: number;

  constructor(code: string, message: string, fields: Record<string, unknown> = {}, opts: { fault?: Fault; status?: number } = {}) {
    super(message);
    this.name = code;
    this.code = code;
    this.fields = fields;
    this.fault = opts.fault ?? (code === 'InternalServerException' ? 'server' : 'client');
    this.status = opts.status;
  }

  /** The same error answered with another HTTP status: where Gatehouse answers differently from the model's trait. */
  withStatus(status: number): ServiceError {
    return new ServiceError(this.code, this.message, this.fields, { fault: this.fault, status });
  }
}

// Framework errors that no service model lists but every AWS endpoint answers (names and statuses as AWS uses them).
export const missingAuthentication = (message = 'Missing Authentication Token') => new ServiceError('MissingAuthenticationTokenException', message, {}, { status: 403 });
export const incompleteSignature = (message: string) => new ServiceError('IncompleteSignatureException', message, {}, { status: 400 });
export const invalidSignature = (message: string) => new ServiceError('InvalidSignatureException', message, {}, { status: 403 });
export const unrecognizedClient = (message = 'The security token included in the request is invalid.') =>
  new ServiceError('UnrecognizedClientException', message, {}, { status: 403 });
export const expiredToken = (message = 'The security token included in the request is expired') => new ServiceError('ExpiredTokenException', message, {}, { status: 403 });
export const serialization = (message: string) => new ServiceError('SerializationException', message, {}, { status: 400 });
export const unknownOperation = (message = 'Unknown operation') => new ServiceError('UnknownOperationException', message, {}, { status: 400 });
export const internalError = (message = 'An internal error occurred. Please retry your request.') =>
  new ServiceError('InternalServerException', message, {}, { fault: 'server', status: 500 });
/** The query protocol's UnknownOperationException. */
export const invalidAction = (message: string) => new ServiceError('InvalidAction', message);
export const badRequest = (message: string) => new ServiceError('BadRequestException', message, {}, { status: 400 });
export const requestTimeout = (message: string) => new ServiceError('RequestTimeoutException', message, {}, { status: 408 });
export const requestEntityTooLarge = (message: string) => new ServiceError('RequestEntityTooLargeException', message, {}, { status: 413 });
export const tooManyRequests = (message: string) => new ServiceError('TooManyRequestsException', message, {}, { status: 429 });
/** A NextToken that this server did not issue for the list asked for (src/wire/pagination.ts). */
export const invalidNextToken = (code = 'ValidationException') => new ServiceError(code, 'The NextToken is invalid or does not belong to this request.');
