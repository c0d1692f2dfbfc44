import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { v7 as uuidv7 } from 'uuid';
import { isUuid } from '@aos/logs-domain';
import { runWithRequestContext } from '@aos/system-logs';

/** A client's X-Request-Id is kept when it is a plain token; otherwise the server makes one. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * Serves each request inside a request context, so the platform logger tags
 * what it writes meanwhile with `request_id` (the client's X-Request-Id, or a
 * new UUIDv7, echoed in the response header) and `trace_id` (the route's
 * `trace_id` parameter, when it has one).
 */
@Injectable()
export class RequestContextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const header = request.headers['x-request-id'];
    const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : uuidv7();
    http.getResponse<FastifyReply>().header('x-request-id', requestId);
    const traceId = (request.params as Record<string, unknown> | undefined)?.['trace_id'];
    const store = { request_id: requestId, ...(isUuid(traceId) ? { trace_id: traceId.toLowerCase() } : {}) };
    return new Observable((subscriber) => runWithRequestContext(store, () => next.handle().subscribe(subscriber)));
  }
}
