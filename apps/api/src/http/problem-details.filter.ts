import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DomainError, type FieldError } from '@aos/logs-domain';
import { answerFastifyError, isFastifyError } from './fastify-errors';
import {
  buildProblem,
  instanceOf,
  PROBLEM_CONTENT_TYPE,
  type ProblemDetails,
  problemHeaders,
  problemTypeUri,
  serializeProblem,
} from './problem';

const INTERNAL_DETAIL = 'The server could not complete the request. The error has been logged.';

/** A problem, and whether it stands for a server fault worth logging. */
export interface MappedProblem {
  problem: ProblemDetails;
  serverFault: boolean;
}

/**
 * Maps anything thrown while handling a request to problem details:
 * DomainError (its own status, title and code), HttpException (Fastify's own
 * errors arrive as one with the FastifyError as `cause`), a raw 4xx
 * FastifyError, and anything else as a 500 that reveals nothing.
 */
export function toProblem(exception: unknown, instance?: string): MappedProblem {
  if (exception instanceof DomainError) {
    const serverFault = exception.status >= 500;
    return {
      serverFault,
      problem: buildProblem({
        status: exception.status,
        title: exception.title,
        type: problemTypeUri(exception.code),
        detail: exception.message || exception.title,
        instance,
        extensions: exception.extensions,
      }),
    };
  }

  if (exception instanceof HttpException) {
    const fromFastify = answerFastifyError(exception.cause);
    if (fromFastify) {
      return {
        serverFault: false,
        problem: buildProblem({ ...fromFastify, instance, fallbackField: fromFastify.field }),
      };
    }
    const status = exception.getStatus();
    if (status >= 500 || status < 400) {
      return { serverFault: true, problem: buildProblem({ status: 500, detail: INTERNAL_DETAIL, instance }) };
    }
    const messages = httpExceptionMessages(exception);
    const errors: FieldError[] | undefined =
      status === 400 ? messages.map((message) => ({ field: 'request', message })) : undefined;
    return {
      serverFault: false,
      problem: buildProblem({ status, detail: messages.join('; '), instance, errors }),
    };
  }

  const fromFastify = answerFastifyError(exception);
  if (fromFastify) {
    return {
      serverFault: false,
      problem: buildProblem({ ...fromFastify, instance, fallbackField: fromFastify.field }),
    };
  }

  // A 5xx FastifyError (a handler timeout, say) keeps its status, not its message.
  const status =
    isFastifyError(exception) && typeof exception.statusCode === 'number' && exception.statusCode >= 500
      ? exception.statusCode
      : 500;
  return { serverFault: true, problem: buildProblem({ status, detail: INTERNAL_DETAIL, instance }) };
}

function httpExceptionMessages(exception: HttpException): string[] {
  const response = exception.getResponse();
  if (typeof response === 'string') return [response];
  const message = (response as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return [message];
  if (Array.isArray(message)) {
    const strings = message.filter((m): m is string => typeof m === 'string');
    if (strings.length > 0) return strings;
  }
  return [exception.message];
}

/**
 * The one global exception filter: every error leaves as
 * `application/problem+json`, written through the HTTP adapter.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemDetailsFilter.name);

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') {
      this.logger.error(describe(exception), stackOf(exception));
      return;
    }
    const { httpAdapter } = this.adapterHost;
    const http = host.switchToHttp();
    const request = http.getRequest<unknown>();
    const response = http.getResponse<unknown>();

    let url: string | undefined;
    let method = '?';
    try {
      url = httpAdapter.getRequestUrl(request);
      method = httpAdapter.getRequestMethod(request);
    } catch {
      // A request the router never parsed: answer without an instance.
    }

    if (isClientHangUp(exception, request, response)) {
      // The client's doing, and no one is left to answer: neither an error log nor a platform
      // error record (anyone, even without a key, could fill those by hanging up).
      this.logger.debug(`${method} ${instanceOf(url) ?? ''}: the client closed the connection (${describe(exception)})`);
      if (!httpAdapter.isHeadersSent(response)) {
        httpAdapter.reply(response, serializeProblem(buildProblem({ status: 400, detail: CLIENT_GONE, instance: instanceOf(url), fallbackField: 'request' })), 400);
      } else {
        httpAdapter.end(response);
      }
      return;
    }

    const { problem, serverFault } = toProblem(exception, instanceOf(url));
    if (serverFault) {
      this.logger.error(`${method} ${instanceOf(url) ?? ''} failed: ${describe(exception)}`, stackOf(exception));
    }

    if (httpAdapter.isHeadersSent(response)) {
      // Too late for a problem document: end what was started.
      this.logger.warn(`${method} ${instanceOf(url) ?? ''}: error after the response started`);
      httpAdapter.end(response);
      return;
    }
    for (const [name, value] of Object.entries(problemHeaders(problem.status))) {
      httpAdapter.setHeader(response, name, value);
    }
    httpAdapter.setHeader(response, 'Content-Type', PROBLEM_CONTENT_TYPE);
    httpAdapter.reply(response, serializeProblem(problem), problem.status);
  }
}

const CLIENT_GONE = 'The client closed the connection before the exchange was complete.';

/**
 * Whether the error is the client hanging up: Node's `aborted` while the body
 * was read (ECONNRESET), or a stream that lost its reader (a premature close,
 * EPIPE), with the client's connection gone. The same codes with the client
 * still there (a database connection reset, say) are server faults.
 */
export function isClientHangUp(exception: unknown, request: unknown, response: unknown): boolean {
  // Not `instanceof Error`: Node's own errors come from another realm under Jest's VM.
  const code = typeof exception === 'object' && exception !== null ? (exception as { code?: unknown }).code : undefined;
  if (code !== 'ECONNRESET' && code !== 'ERR_STREAM_PREMATURE_CLOSE' && code !== 'EPIPE') return false;
  type Raw = { raw?: { destroyed?: boolean; socket?: { destroyed?: boolean } | null } } | null;
  const gone = (side: unknown) => {
    const raw = (side as Raw)?.raw;
    return raw?.destroyed === true || raw?.socket?.destroyed === true;
  };
  return gone(request) || gone(response);
}

function describe(exception: unknown): string {
  if (exception instanceof Error) return `${exception.name}: ${exception.message}`;
  try {
    return String(exception);
  } catch {
    return 'unprintable exception';
  }
}

function stackOf(exception: unknown): string | undefined {
  return exception instanceof Error ? exception.stack : undefined;
}
