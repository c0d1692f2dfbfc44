import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { Logger } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type ConnectionError, errorCodes, type FastifyError } from 'fastify';
import { UnsupportedMediaTypeError } from '@aos/logs-domain';
import { answerFastifyError } from './fastify-errors';
import { parseJsonBody } from './json-body';
import { buildProblem, instanceOf, PROBLEM_CONTENT_TYPE, type ProblemReply, sendProblem, serializeProblem } from './problem';

const logger = new Logger('HttpHardening');

export interface FastifyAdapterOptions {
  /** Largest accepted request body, in bytes (larger is 413, before parsing). */
  bodyLimit: number;
  /**
   * Proxies whose `X-Forwarded-For` is trusted: their address or CIDR, or a
   * list of them. `true` trusts the client-spoofable leftmost entry; avoid it.
   */
  trustProxy?: boolean | string | string[];
}

/**
 * The Fastify adapter with the limits and error answers of DESIGN.md 8:
 * body limit, problem details for router errors (malformed path escapes,
 * over-long parameters) and for requests Node's HTTP parser rejects.
 */
export function createFastifyAdapter(options: FastifyAdapterOptions): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: options.bodyLimit,
    trustProxy: options.trustProxy ?? false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // `/api/v1/logs/` (the spec's spelling) and `/api/v1/logs` are one route.
    routerOptions: { ignoreTrailingSlash: true },
    // The generic reply type of this option narrows `send`; the answer only sends a string.
    frameworkErrors: (error: FastifyError, request: { url?: string }, reply: unknown) =>
      answerFrameworkError(error, request, reply as ProblemReply),
    clientErrorHandler: answerClientError,
  });
}

/**
 * `frameworkErrors`: errors the router raises before any hook or Nest filter
 * runs (FST_ERR_BAD_URL 400, FST_ERR_MAX_PARAM_LENGTH 414, ...).
 */
export function answerFrameworkError(error: FastifyError, request: { url?: string }, reply: ProblemReply): void {
  let instance: string | undefined;
  try {
    instance = instanceOf(request.url);
  } catch {
    instance = undefined;
  }
  const answer = answerFastifyError(error);
  if (answer) {
    sendProblem(reply, buildProblem({ ...answer, instance, fallbackField: answer.field }));
    return;
  }
  logger.error(`Router error: ${error?.code ?? ''} ${error?.message ?? ''}`, error?.stack);
  sendProblem(reply, buildProblem({ status: 500, detail: 'The server could not complete the request.', instance }));
}

/**
 * `clientErrorHandler`: Node's HTTP parser rejected the request (bad request
 * line, oversized headers, timeout). There is no request or reply, so a
 * minimal problem is written on the socket, which is then closed.
 */
export function answerClientError(error: ConnectionError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const detail =
    status === 431
      ? 'The request headers are larger than the server accepts.'
      : status === 408
        ? 'The request was not received in time.'
        : 'The request is not valid HTTP/1.1.';
  logger.debug(`Client error ${error.code ?? ''}: ${error.message}`);
  // A response already under way on this connection cannot be interrupted.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = serializeProblem(buildProblem({ status, detail, fallbackField: 'request' }));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
    // end() flushes, then half-closes; a client that never closes its side is cut off.
    setTimeout(() => socket.destroy(), 1000).unref();
  } else {
    socket.destroy();
  }
}

/** The JSON media types: application/json and any `+json` suffix (RFC 6839). */
const JSON_SUFFIX = /^application\/[a-z0-9!#$&^_.-]+\+json(?:;|$)/;

/**
 * A JSON body is read as UTF-8 bytes as they came: a body declared in another
 * charset, or compressed (`Content-Encoding`), would be misread, so it is a 415
 * naming what is not supported rather than a misleading "not valid JSON".
 */
export function checkJsonEncoding(headers: Record<string, string | string[] | undefined>): void {
  const coding = String(headers['content-encoding'] ?? '').trim().toLowerCase().slice(0, 40);
  if (coding !== '' && coding !== 'identity') {
    throw new UnsupportedMediaTypeError(`Content-Encoding ${coding} is not supported: send the JSON body uncompressed.`);
  }
  // Every charset parameter: a second one must not slip another encoding past the first.
  for (const [, declared] of String(headers['content-type'] ?? '').matchAll(/;\s*charset\*?\s*=\s*"?([^";\s]*)/gi)) {
    const charset = declared.toLowerCase().slice(0, 40);
    if (charset !== 'utf-8' && charset !== 'utf8') {
      throw new UnsupportedMediaTypeError(`charset=${charset} is not supported: a JSON body is UTF-8 (RFC 8259).`);
    }
  }
}

/**
 * Body parsing, called after NestFactory.create and before listen/init:
 * JSON only (application/json, application/*+json) through parseJsonBody,
 * with the body limit checked before any byte is parsed; Fastify's text/plain
 * parser is removed and URL-encoded bodies are refused, so any other body is
 * 415. Registered through `useBodyParser`, so Nest does not add its defaults.
 */
export function configureBodyParsing(app: NestFastifyApplication, options: { bodyLimit: number }): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  const parseOptions = { bodyLimit: options.bodyLimit };
  const jsonParser = (request: { headers: Record<string, string | string[] | undefined> }, body: Buffer, done: (err: Error | null, body?: unknown) => void): void => {
    let parsed: unknown;
    try {
      checkJsonEncoding(request.headers);
      parsed = parseJsonBody(body);
    } catch (err) {
      done(err as Error);
      return;
    }
    done(null, parsed);
  };
  app.useBodyParser('application/json', parseOptions, jsonParser);
  app.useBodyParser(JSON_SUFFIX, parseOptions, jsonParser);
  // Nest would otherwise register a URL-encoded parser at init.
  app.useBodyParser('application/x-www-form-urlencoded', parseOptions, (_request, _body, done) => {
    done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE());
  });
}
