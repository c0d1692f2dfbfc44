import { HttpAdapterHost } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { configureBodyParsing } from './fastify';
import { installMethodNotAllowed } from './method-not-allowed';
import { ProblemDetailsFilter } from './problem-details.filter';
import { QueryParametersInterceptor } from './query-parameters.interceptor';
import { createValidationPipe } from './validation';

export interface HttpHardeningOptions {
  /** Largest accepted request body, in bytes: give the adapter the same value. */
  bodyLimit: number;
}

/**
 * Applies the HTTP hardening layer to an app built on `createFastifyAdapter()`:
 * the problem-details filter, the validation pipe, the refusal of query
 * parameters where a route reads none, JSON-only body parsing and
 * the 405/404 answers. Call it after `NestFactory.create()` and before
 * `app.init()` / `app.listen()` (routes must be added after it).
 */
export function configureHttp(app: NestFastifyApplication, options: HttpHardeningOptions): void {
  app.useGlobalFilters(new ProblemDetailsFilter(app.get(HttpAdapterHost)));
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalInterceptors(new QueryParametersInterceptor());
  configureBodyParsing(app, options);
  installMethodNotAllowed(app.getHttpAdapter().getInstance());
}
