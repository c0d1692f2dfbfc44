import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Observable } from 'rxjs';
import { toValidationError } from './validation';

/**
 * Refuses query parameters on a route that reads none (DESIGN.md 8: unknown
 * parameters are 400), as the validation pipe does on the routes that take a
 * query DTO. Without it `GET /integrity/checkpoint?tree_size=1` answered 200 as
 * if the parameter had been honoured. A handler that takes the whole request
 * (`@Req()`) may read the query itself, and is left alone.
 */
@Injectable()
export class QueryParametersInterceptor implements NestInterceptor {
  private readonly readsQuery = new WeakMap<object, boolean>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http' && !this.handlerReadsQuery(context)) {
      const query: unknown = context.switchToHttp().getRequest<{ query?: unknown }>().query;
      const keys = query !== null && typeof query === 'object' ? Object.keys(query) : [];
      if (keys.length > 0) throw toValidationError(keys.map((key) => ({ field: key, message: `property ${key} should not exist` })));
    }
    return next.handle();
  }

  private handlerReadsQuery(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    let reads = this.readsQuery.get(handler);
    if (reads === undefined) {
      const args: Record<string, unknown> = Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ?? {};
      // Keys are `<RouteParamtypes>:<index>` (custom decorators: `<name>:<index>`).
      reads = Object.keys(args).some((key) => {
        const type = Number(key.split(':')[0]);
        return type === RouteParamtypes.QUERY || type === RouteParamtypes.REQUEST;
      });
      this.readsQuery.set(handler, reads);
    }
    return reads;
  }
}
