/**
 * StatusError is the one error type of the API: it carries a Kubernetes `Status` reason and its
 * HTTP code, and renders as the `Status` object that goes on the wire. Code that can fail for a
 * client's reason throws one of these; anything else that escapes is an internal error (500).
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** Every reason the API answers with, and the HTTP code it maps to. */
export const statusReasons = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
} as const;

export type StatusReason = keyof typeof statusReasons;

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

export class StatusError extends Error {
  readonly reason: StatusReason;
  readonly code: number;
  readonly details: StatusDetails | undefined;

  constructor(reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'StatusError';
    this.reason = reason;
    this.code = statusReasons[reason];
    this.details = details;
  }

  toStatus(): Status {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** Describes a resource for error messages: `deployments.apps "web"`. */
export function describeResource(resource: string, group: string, name?: string): string {
  const qualified = group ? `${resource}.${group}` : resource;
  return name === undefined ? qualified : `${qualified} "${name}"`;
}

export const errors = {
  notFound(resource: string, group: string, name: string): StatusError {
    return new StatusError('NotFound', `${describeResource(resource, group, name)} not found`, { name, group, kind: resource });
  },
  alreadyExists(resource: string, group: string, name: string): StatusError {
    return new StatusError('AlreadyExists', `${describeResource(resource, group, name)} already exists`, { name, group, kind: resource });
  },
  conflict(resource: string, group: string, name: string, why: string): StatusError {
    return new StatusError('Conflict', `Operation cannot be fulfilled on ${describeResource(resource, group, name)}: ${why}`, { name, group, kind: resource });
  },
  invalid(kind: string, group: string, name: string, causes: StatusCause[]): StatusError {
    const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
    return new StatusError('Invalid', `${kind}${group ? '.' + group : ''} "${name}" is invalid: ${summary}`, { name, group, kind, causes });
  },
  badRequest(message: string, causes?: StatusCause[]): StatusError {
    return new StatusError('BadRequest', message, causes ? { causes } : undefined);
  },
  expired(message: string): StatusError {
    return new StatusError('Expired', message);
  },
  internal(message: string): StatusError {
    return new StatusError('InternalError', message);
  },
};

/** Wraps anything thrown into a Status: StatusErrors keep their reason, the rest become 500s. */
export function toStatus(err: unknown): Status {
  if (err instanceof StatusError) return err.toStatus();
  const message = err instanceof Error ? err.message : String(err);
  return new StatusError('InternalError', `Internal error occurred: ${message}`).toStatus();
}
