import type { ArgumentMetadata } from '@nestjs/common';
import type { ValidationError as ClassValidatorError } from 'class-validator';
import { ValidationError } from '@aos/logs-domain';
import {
  findBadQueryParameters,
  flattenValidationErrors,
  MAX_FIELD_ERRORS,
  UuidParamPipe,
  validationExceptionFactory,
} from './validation';

function error(
  property: string,
  constraints?: Record<string, string>,
  children: ClassValidatorError[] = [],
  value?: unknown,
): ClassValidatorError {
  const e = { property, constraints, children } as ClassValidatorError;
  if (value !== undefined) e.value = value;
  return e;
}

describe(flattenValidationErrors.name, () => {
  it('lists each failed constraint of a top-level field without repeating its name', () => {
    const flat = flattenValidationErrors([
      error('count', { isInt: 'count must be an integer number', min: 'count must not be less than 0' }),
      error('colour', { whitelistValidation: 'property colour should not exist' }),
    ]);
    expect(flat).toEqual([
      { field: 'count', message: 'must be an integer number' },
      { field: 'count', message: 'must not be less than 0' },
      { field: 'colour', message: 'property colour should not exist' },
    ]);
  });

  it('leaves out the range of a value that is not a number, where its type is what failed', () => {
    const flat = flattenValidationErrors([
      error('limit', { max: 'limit must not be greater than 1000', min: 'limit must not be less than 1', isInt: 'limit must be an integer number' }, undefined, 'abc'),
      error('offset', { min: 'offset must not be less than 0', isInt: 'offset must be an integer number' }, undefined, -1.5),
      error('tokens', { min: 'tokens must not be less than 0' }, undefined, '5'),
    ]);
    expect(flat).toEqual([
      { field: 'limit', message: 'must be an integer number' },
      { field: 'offset', message: 'must not be less than 0' },
      { field: 'offset', message: 'must be an integer number' },
      { field: 'tokens', message: 'must not be less than 0' },
    ]);
  });

  it('brackets array indexes and dots object keys', () => {
    const steps = [{}, {}, { step_index: -1 }];
    const flat = flattenValidationErrors([
      error(
        'steps',
        undefined,
        [
          error(
            '2',
            undefined,
            [
              error('step_index', { min: 'step_index must not be less than 0' }),
              error('input_data', undefined, [error('extra', { whitelistValidation: 'property extra should not exist' })], {}),
            ],
            steps[2],
          ),
        ],
        steps,
      ),
    ]);
    expect(flat).toEqual([
      { field: 'steps[2].step_index', message: 'must not be less than 0' },
      { field: 'steps[2].input_data.extra', message: 'property extra should not exist' },
    ]);
  });

  it('keeps a numeric key of an object as a key when the value shows it is no array', () => {
    const flat = flattenValidationErrors([
      error('by_code', undefined, [error('404', { isString: '404 must be a string' })], { 404: 1 }),
    ]);
    expect(flat).toEqual([{ field: 'by_code.404', message: 'must be a string' }]);
  });

  it('takes a nested numeric property for an index when the value is not on the error', () => {
    const flat = flattenValidationErrors([
      error('items', undefined, [error('0', undefined, [error('name', { isString: 'name must be a string' })])]),
    ]);
    expect(flat).toEqual([{ field: 'items[0].name', message: 'must be a string' }]);
  });

  it('walks a deep error tree without recursion', () => {
    let tree = error('leaf', { isString: 'leaf must be a string' });
    for (let i = 0; i < 20_000; i++) tree = error('a', undefined, [tree], {});
    const [only] = flattenValidationErrors([tree]);
    expect(only.field.endsWith('.a.leaf')).toBe(true);
    expect(only.message).toBe('must be a string');
  });
});

describe(validationExceptionFactory.name, () => {
  it('throws the domain ValidationError with the flattened list', () => {
    const err = validationExceptionFactory([error('id', { isUuid: 'id must be a UUID' })]);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.status).toBe(400);
    expect(err.errors).toEqual([{ field: 'id', message: 'must be a UUID' }]);
  });

  it('caps the list', () => {
    const many = Array.from({ length: MAX_FIELD_ERRORS + 5 }, (_, i) =>
      error(`f${i}`, { whitelistValidation: `property f${i} should not exist` }),
    );
    const err = validationExceptionFactory(many);
    expect(err.errors).toHaveLength(MAX_FIELD_ERRORS);
    expect(err.message).toMatch(/and 5 more$/);
  });

  it('never answers an empty list', () => {
    expect(validationExceptionFactory([]).errors).toEqual([{ field: 'request', message: 'is invalid' }]);
  });
});

describe(findBadQueryParameters.name, () => {
  it('names each repeated parameter of a query object', () => {
    expect(findBadQueryParameters({ limit: ['1', '2'], sort: 'name', tag: ['a', 'b'] })).toEqual([
      { field: 'limit', message: 'must be given once, not repeated' },
      { field: 'tag', message: 'must be given once, not repeated' },
    ]);
  });

  it('checks a single named parameter', () => {
    expect(findBadQueryParameters(['1', '2'], 'limit')).toHaveLength(1);
    expect(findBadQueryParameters('1', 'limit')).toEqual([]);
    expect(findBadQueryParameters(undefined)).toEqual([]);
  });

  it('names a parameter holding a NUL character, which PostgreSQL cannot take', () => {
    expect(findBadQueryParameters({ search: 'a\u0000b', sort: 'name' })).toEqual([
      { field: 'search', message: 'must not contain the NUL character (\\u0000)' },
    ]);
    expect(findBadQueryParameters('\u0000', 'source')).toEqual([{ field: 'source', message: 'must not contain the NUL character (\\u0000)' }]);
  });

  it('refuses the prototype keys the transformation would drop silently', () => {
    // As Fastify's parser gives them: own keys (an object literal's __proto__ would set the prototype).
    const query = JSON.parse('{"__proto__": "1", "constructor": "2", "prototype": "3", "limit": "5"}');
    expect(findBadQueryParameters(query).map((e) => e.field)).toEqual(['__proto__', 'constructor', 'prototype']);
  });
});

describe(UuidParamPipe.name, () => {
  const pipe = new UuidParamPipe();
  const meta: ArgumentMetadata = { type: 'param', data: 'trace_id' };

  it('passes a UUID through', () => {
    const id = '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b';
    expect(pipe.transform(id, meta)).toBe(id);
  });

  it('names the parameter in its 400', () => {
    expect(() => pipe.transform('nope', meta)).toThrow(ValidationError);
    try {
      pipe.transform('nope', meta);
    } catch (e) {
      expect((e as ValidationError).errors).toEqual([{ field: 'trace_id', message: 'must be a UUID' }]);
    }
  });
});
