/**
 * What the API answers for the errors Fastify raises itself (content-type
 * parsing, routing). They arrive either raw (`frameworkErrors`) or wrapped in
 * an HttpException whose `cause` is the FastifyError (Nest's `mapException`).
 */
export interface FastifyErrorAnswer {
  status: number;
  detail: string;
  /** For a 400: the part of the request the `errors` entry names. */
  field?: string;
}

const ANSWERS: Readonly<Record<string, FastifyErrorAnswer>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, field: 'body', detail: 'The request body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    field: 'body',
    detail: 'The request body is empty, but its Content-Type says JSON.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    field: 'body',
    detail: 'The request body does not match its Content-Length.',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, detail: 'The request body is larger than the server accepts.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    detail: 'The request body must be JSON (Content-Type: application/json).',
  },
  FST_ERR_ROUTE_MISSING_CONTENT_TYPE: {
    status: 415,
    detail: 'The request body must be JSON (Content-Type: application/json).',
  },
  FST_ERR_BAD_URL: { status: 400, field: 'path', detail: 'The request path is not a valid URL.' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, detail: 'A path parameter is longer than the server accepts.' },
};

interface ErrorWithCode {
  code?: unknown;
  statusCode?: unknown;
  name?: unknown;
}

/** Fastify's own errors (`@fastify/error`) are named FastifyError and carry a code. */
export function isFastifyError(error: unknown): error is Error & { code: string; statusCode?: number } {
  return error instanceof Error && error.name === 'FastifyError' && typeof (error as ErrorWithCode).code === 'string';
}

/**
 * The answer to a Fastify error: a fixed one for the codes above, otherwise
 * the error's own 4xx status with a generic detail. Undefined for anything
 * that is not a 4xx FastifyError (a server fault).
 */
export function answerFastifyError(error: unknown): FastifyErrorAnswer | undefined {
  if (!isFastifyError(error)) return undefined;
  const known = ANSWERS[error.code];
  if (known) return known;
  const status = error.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, detail: 'The request could not be processed.' };
  }
  return undefined;
}
