import { STATUS_CODES } from 'node:http';
import type { FieldError } from '@aos/logs-domain';

/** RFC 9457 media type of every error response. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Base of the stable problem `type` URIs: `<base><slug>`. */
export const PROBLEM_TYPE_BASE = 'https://aos.dev/problems/';

/** Slugs for errors that are not DomainErrors (those carry their own `code`). */
const SLUG_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'validation-error',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  406: 'not-acceptable',
  408: 'request-timeout',
  409: 'conflict',
  413: 'payload-too-large',
  414: 'uri-too-long',
  415: 'unsupported-media-type',
  429: 'too-many-requests',
  431: 'request-header-fields-too-large',
  500: 'internal-error',
  503: 'unavailable',
};

/** Longest `instance` echoed back (a request path is client input). */
const MAX_INSTANCE_LENGTH = 2048;

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export function problemTypeUri(slug: string): string {
  return `${PROBLEM_TYPE_BASE}${slug}`;
}

/** The `type` and `title` of a status that has no domain error behind it. */
export function problemTypeForStatus(status: number): { type: string; title: string } {
  const slug = SLUG_BY_STATUS[status];
  const title = STATUS_CODES[status] ?? 'Error';
  return { type: slug ? problemTypeUri(slug) : 'about:blank', title };
}

/** The path of a request URL (no query string), capped in length. */
export function instanceOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return path.length > MAX_INSTANCE_LENGTH ? path.slice(0, MAX_INSTANCE_LENGTH) : path;
}

const CORE_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'instance']);

/**
 * Builds a problem document. Extensions never override the core members, and
 * every 400 carries an `errors` list (`fallbackField` names the part of the
 * request it blames when no field-level errors are known).
 */
export function buildProblem(input: {
  status: number;
  detail: string;
  type?: string;
  title?: string;
  instance?: string;
  errors?: FieldError[];
  extensions?: Record<string, unknown>;
  fallbackField?: string;
}): ProblemDetails {
  const defaults = problemTypeForStatus(input.status);
  const problem: ProblemDetails = {
    type: input.type ?? defaults.type,
    title: input.title ?? defaults.title,
    status: input.status,
    detail: input.detail,
  };
  if (input.instance !== undefined) problem.instance = input.instance;
  for (const [key, value] of Object.entries(input.extensions ?? {})) {
    if (!CORE_MEMBERS.has(key) && value !== undefined) problem[key] = value;
  }
  if (input.errors) problem.errors = input.errors;
  if (input.status === 400 && !Array.isArray(problem.errors)) {
    problem.errors = [{ field: input.fallbackField ?? 'request', message: input.detail }];
  }
  return problem;
}

/**
 * Serialises a problem; an extension that cannot be serialised (a BigInt, a
 * cycle) is dropped rather than turning the error response into a crash.
 */
export function serializeProblem(problem: ProblemDetails): string {
  try {
    return JSON.stringify(problem);
  } catch {
    const { type, title, status, detail, instance, errors } = problem;
    return JSON.stringify({ type, title, status, detail, instance, errors });
  }
}

/** Headers that go with a problem of this status (401 names its scheme). */
export function problemHeaders(status: number): Record<string, string> {
  return status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {};
}

/** The part of a Fastify reply that sending a problem needs. */
export interface ProblemReply {
  code(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  send(payload: string): unknown;
}

/** Sends a problem on a Fastify reply (for code that runs outside Nest's filters). */
export function sendProblem(reply: ProblemReply, problem: ProblemDetails, headers: Record<string, string> = {}): void {
  reply.code(problem.status);
  for (const [name, value] of Object.entries({ ...problemHeaders(problem.status), ...headers })) {
    reply.header(name, value);
  }
  reply.header('Content-Type', PROBLEM_CONTENT_TYPE);
  reply.send(serializeProblem(problem));
}
