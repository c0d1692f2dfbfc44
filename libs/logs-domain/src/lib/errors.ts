/**
 * The one error hierarchy of the service. Every layer throws these; the API maps
 * them to RFC 9457 problem details in one filter (status, title, type slug).
 */
export interface FieldError {
  field: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  /** Short slug used to build the problem `type` URI. */
  abstract readonly code: string;
  readonly extensions: Record<string, unknown>;

  constructor(message: string, extensions: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.extensions = extensions;
  }
}

/** 400: the request is malformed; `errors` names each offending field. */
export class ValidationError extends DomainError {
  readonly status = 400;
  readonly title = 'Invalid request';
  readonly code = 'validation-error';
  constructor(
    readonly errors: FieldError[],
    message = errors.map((e) => `${e.field}: ${e.message}`).join('; '),
  ) {
    super(message, { errors });
  }
  static field(field: string, message: string): ValidationError {
    return new ValidationError([{ field, message }]);
  }
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly title = 'Unauthorized';
  readonly code = 'unauthorized';
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
  readonly title = 'Forbidden';
  readonly code = 'forbidden';
}

/** 404: absent, or owned by another tenant (never distinguished). */
export class NotFoundError extends DomainError {
  readonly status = 404;
  readonly title = 'Not found';
  readonly code = 'not-found';
}

/** 409: the request conflicts with the record's state (sealed trace, taken index, gap). */
export class ConflictError extends DomainError {
  readonly status = 409;
  readonly title = 'Conflict';
  readonly code = 'conflict';
}

/** 415: a request body in a form the service does not read (a charset other than UTF-8, a content coding). */
export class UnsupportedMediaTypeError extends DomainError {
  readonly status = 415;
  readonly title = 'Unsupported media type';
  readonly code = 'unsupported-media-type';
}

/** 409: stored evidence fails its hash check. */
export class IntegrityError extends DomainError {
  readonly status = 409;
  readonly title = 'Integrity check failed';
  readonly code = 'integrity-failure';
}

/** 503: a dependency (database, queue) is not available. */
export class UnavailableError extends DomainError {
  readonly status = 503;
  readonly title = 'Service unavailable';
  readonly code = 'unavailable';
}
