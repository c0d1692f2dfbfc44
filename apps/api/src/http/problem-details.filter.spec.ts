import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import { errorCodes } from 'fastify';
import { ConflictError, UnavailableError, ValidationError } from '@aos/logs-domain';
import { toProblem } from './problem-details.filter';

describe(toProblem.name, () => {
  it('maps a DomainError with its type, title, detail and extensions', () => {
    const { problem, serverFault } = toProblem(new ConflictError('index 3 is taken', { step_index: 3 }), '/t');
    expect(serverFault).toBe(false);
    expect(problem).toEqual({
      type: 'https://aos.dev/problems/conflict',
      title: 'Conflict',
      status: 409,
      detail: 'index 3 is taken',
      instance: '/t',
      step_index: 3,
    });
  });

  it('carries the field errors of a ValidationError', () => {
    const { problem } = toProblem(ValidationError.field('limit', 'must not be greater than 1000'));
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([{ field: 'limit', message: 'must not be greater than 1000' }]);
  });

  it('keeps the core members from being overridden by extensions', () => {
    const { problem } = toProblem(new ConflictError('x', { status: 200, type: 'evil' }));
    expect(problem.status).toBe(409);
    expect(problem.type).toBe('https://aos.dev/problems/conflict');
  });

  it('gives a 5xx DomainError its own status and detail', () => {
    const { problem, serverFault } = toProblem(new UnavailableError('database unavailable'));
    expect(problem.status).toBe(503);
    expect(serverFault).toBe(true);
  });

  it.each([
    [new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), 400, 'body'],
    [new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), 400, 'body'],
    [new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), 413, undefined],
    [new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(), 415, undefined],
  ])('maps Fastify error %s, wrapped by Nest or raw', (fastifyError, status, field) => {
    for (const thrown of [new HttpException(fastifyError.message, fastifyError.statusCode ?? 500, { cause: fastifyError }), fastifyError]) {
      const { problem } = toProblem(thrown);
      expect(problem.status).toBe(status);
      expect(problem.errors?.map((e) => e.field)).toEqual(field ? [field] : undefined);
    }
  });

  it('gives every 400 an errors list', () => {
    const { problem } = toProblem(new BadRequestException('Validation failed (uuid is expected)'));
    expect(problem.errors).toEqual([{ field: 'request', message: 'Validation failed (uuid is expected)' }]);
  });

  it('keeps the message of a 4xx HttpException', () => {
    const { problem } = toProblem(new NotFoundException('Cannot GET /x'), '/x');
    expect(problem).toEqual(expect.objectContaining({ status: 404, detail: 'Cannot GET /x', type: 'https://aos.dev/problems/not-found' }));
  });

  it.each([
    ['a plain Error', new Error('password=hunter2')],
    ['a thrown string', 'password=hunter2'],
    ['a 5xx HttpException', new HttpException('password=hunter2', 502)],
    ['an error with a status of its own', Object.assign(new Error('password=hunter2'), { status: 404, statusCode: 404 })],
  ])('answers %s with a generic 500', (_case, thrown) => {
    const { problem, serverFault } = toProblem(thrown);
    expect(serverFault).toBe(true);
    expect(problem.status).toBe(500);
    expect(JSON.stringify(problem)).not.toMatch(/hunter2/);
  });
});
