// The runtime form of a service model, as scripts/generate.mjs writes it into src/generated/.

/** A JSON document value (the model's `document` trait). */
export type DocumentValue = null | boolean | number | string | DocumentValue[] | { [key: string]: DocumentValue };

export interface MemberRef {
  shape: string;
  /** restJson binding of the member: where in the HTTP message it travels. */
  location?: 'uri' | 'querystring' | 'header' | 'headers' | 'statusCode';
  locationName?: string;
  idempotencyToken?: boolean;
  jsonvalue?: boolean;
  timestampFormat?: string;
  box?: boolean;
  deprecated?: boolean;
}

interface ShapeBase {
  sensitive?: boolean;
  box?: boolean;
}

export interface StructureShape extends ShapeBase {
  type: 'structure';
  members: Record<string, MemberRef>;
  required?: string[];
  union?: boolean;
  document?: boolean;
  exception?: boolean;
  fault?: boolean;
  error?: { httpStatusCode?: number; code?: string; senderFault?: boolean };
  retryable?: { throttling?: boolean };
}
export interface StringShape extends ShapeBase {
  type: 'string';
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
}
export interface NumberShape extends ShapeBase {
  type: 'integer' | 'long' | 'float' | 'double';
  min?: number;
  max?: number;
}
export interface BooleanShape extends ShapeBase {
  type: 'boolean';
}
export interface TimestampShape extends ShapeBase {
  type: 'timestamp';
  timestampFormat?: string;
}
export interface BlobShape extends ShapeBase {
  type: 'blob';
  min?: number;
  max?: number;
}
export interface ListShape extends ShapeBase {
  type: 'list';
  member: string;
  min?: number;
  max?: number;
}
export interface MapShape extends ShapeBase {
  type: 'map';
  key: string;
  value: string;
  min?: number;
  max?: number;
}
export type Shape = StructureShape | StringShape | NumberShape | BooleanShape | TimestampShape | BlobShape | ListShape | MapShape;

export interface OperationModel {
  http: { method: string; requestUri: string; responseCode?: number };
  input?: string;
  output?: string;
  errors: string[];
  resultWrapper?: string;
  authtype?: string;
  paginated?: boolean;
}

export interface ServiceModel {
  id: string;
  apiVersion: string;
  /** `json` is awsJson1_1, `rest-json` is restJson1, `query` is the AWS query protocol. */
  protocol: 'json' | 'rest-json' | 'query' | string;
  signingName: string;
  targetPrefix?: string;
  xmlNamespace?: string;
  operations: Record<string, OperationModel>;
  shapes: Record<string, Shape>;
}
