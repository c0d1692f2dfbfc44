import { type FieldError, ValidationError } from '@aos/logs-domain';
import { expectNeverLooserThanDtos } from '../testing/never-looser';
import { StepsBodyPipe } from './steps-body.pipe';
import { fastValidSteps, isValidStep } from './steps-validator';

const pipe = new StepsBodyPipe();
const TS = '2026-01-20T10:00:00Z';
const step = (over: Record<string, unknown> = {}) => ({ step_index: 0, step_type: 'input', timestamp: TS, ...over });
const full = (i = 0) => ({
  step_index: i,
  step_type: 'llm_call',
  level: 'warning',
  source: 'agent-runtime',
  timestamp: '2026-01-20T12:15:30.123+02:00',
  tokens: 12,
  cost_cents: 0,
  duration_ms: 2147483647,
  input_data: { messages: [{ role: 'user', content: 'hi' }] },
  output_data: ['any', 1, null],
  metadata: { request_id: 'r' },
});

async function errorsOf(body: unknown): Promise<FieldError[]> {
  try {
    await pipe.transform(body);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).errors;
  }
  throw new Error('accepted');
}

const INDEX_MISSING = [{ field: 'step_index', message: 'must be an integer number' }];
const TYPE_MESSAGE = 'must be one of the following values: input, llm_call, tool_call, output, policy_check, violation';
const TS_MESSAGE = 'must be an RFC 3339 timestamp with an offset, e.g. 2026-01-20T10:15:30.123Z';

describe('fastValidSteps', () => {
  it('answers a valid single step as a batch of the parsed object itself', () => {
    const body = full();
    const steps = fastValidSteps(body);
    expect(steps).toHaveLength(1);
    expect(steps?.[0]).toBe(body);
  });

  it('answers a valid batch as its own steps array', () => {
    const body = { steps: [full(0), step({ step_index: 1 })] };
    expect(fastValidSteps(body)).toBe(body.steps);
  });

  it('takes null for every optional field, as @IsOptional() does', () => {
    const body = step({ level: null, source: null, tokens: null, cost_cents: null, duration_ms: null, metadata: null, input_data: null, output_data: null });
    expect(isValidStep(body)).toBe(true);
  });

  it('accepts 1000 steps, not 0 or 1001', () => {
    const many = (n: number) => ({ steps: Array.from({ length: n }, (_, i) => step({ step_index: i })) });
    expect(fastValidSteps(many(1000))).toHaveLength(1000);
    expect(fastValidSteps(many(0))).toBeNull();
    expect(fastValidSteps(many(1001))).toBeNull();
  });

  it('gives the same steps as the DTOs for what it accepts', async () => {
    for (const body of [full(), { steps: [full(0), full(1)] }, step({ level: null, metadata: null })]) {
      const fast = fastValidSteps(JSON.parse(JSON.stringify(body)));
      const dto = await pipe.throughDtos(JSON.parse(JSON.stringify(body)));
      expect(fast).not.toBeNull();
      expect(JSON.parse(JSON.stringify(fast))).toEqual(JSON.parse(JSON.stringify(dto.steps)));
    }
  });
});

/**
 * Each rule: the fast path refuses, and the route answers what the DTOs have
 * always answered (field and message, in their order).
 */
describe('StepsBodyPipe: each rule and its message', () => {
  const cases: Array<[string, unknown, FieldError[]]> = [
    ['step_index missing', { step_type: 'input', timestamp: TS }, INDEX_MISSING],
    ['step_index a string', step({ step_index: '1' }), INDEX_MISSING],
    ['step_index null', step({ step_index: null }), INDEX_MISSING],
    ['step_index negative', step({ step_index: -1 }), [{ field: 'step_index', message: 'must not be less than 0' }]],
    ['step_index fractional', step({ step_index: 1.5 }), [{ field: 'step_index', message: 'must be an integer number' }]],
    ['step_index above int32', step({ step_index: 2 ** 31 }), [{ field: 'step_index', message: 'must not be greater than 2147483647' }]],
    ['step_type unknown', step({ step_type: 'dance' }), [{ field: 'step_type', message: TYPE_MESSAGE }]],
    ['step_type null', step({ step_type: null }), [{ field: 'step_type', message: TYPE_MESSAGE }]],
    ['level unknown', step({ level: 'loud' }), [{ field: 'level', message: 'must be one of the following values: info, warning, error' }]],
    [
      'source not a string',
      step({ source: 1 }),
      [{ field: 'source', message: 'must be a string' }],
    ],
    ['source of 201 characters', step({ source: 'x'.repeat(201) }), [{ field: 'source', message: 'must be shorter than or equal to 200 characters' }]],
    ['timestamp without offset', step({ timestamp: '2026-01-20T10:00:00' }), [{ field: 'timestamp', message: TS_MESSAGE }]],
    ['timestamp rolled over', step({ timestamp: '2026-02-30T10:00:00Z' }), [{ field: 'timestamp', message: TS_MESSAGE }]],
    ['timestamp a number', step({ timestamp: 5 }), [{ field: 'timestamp', message: TS_MESSAGE }]],
    ['timestamp missing', { step_index: 0, step_type: 'input' }, [{ field: 'timestamp', message: TS_MESSAGE }]],
    ['tokens negative', step({ tokens: -1 }), [{ field: 'tokens', message: 'must not be less than 0' }]],
    ['cost_cents fractional', step({ cost_cents: 0.5 }), [{ field: 'cost_cents', message: 'must be an integer number' }]],
    ['duration_ms above int32', step({ duration_ms: 2 ** 31 }), [{ field: 'duration_ms', message: 'must not be greater than 2147483647' }]],
    ['metadata an array', step({ metadata: [1] }), [{ field: 'metadata', message: 'must be an object' }]],
    ['metadata a string', step({ metadata: 'x' }), [{ field: 'metadata', message: 'must be an object' }]],
    ['unknown field', step({ colour: 'red' }), [{ field: 'colour', message: 'property colour should not exist' }]],
    ['batch with another field', { steps: [step()], x: 1 }, [{ field: 'x', message: 'property x should not exist' }]],
    ['batch empty', { steps: [] }, [{ field: 'steps', message: 'must contain at least 1 elements' }]],
    [
      'batch of 1001',
      { steps: Array.from({ length: 1001 }, (_, i) => step({ step_index: i })) },
      [{ field: 'steps', message: 'must contain no more than 1000 elements' }],
    ],
    [
      'batch not a list',
      { steps: 'many' },
      [
        { field: 'steps', message: 'must contain no more than 1000 elements' },
        { field: 'steps', message: 'must contain at least 1 elements' },
        { field: 'steps', message: 'must be an array' },
        { field: 'steps', message: 'each value in nested property steps must be either object or array' },
      ],
    ],
    ['batch item a number', { steps: [7] }, [{ field: 'steps[0]', message: 'each value in nested property steps must be either object or array' }]],
    ['batch item null', { steps: [step(), null] }, [{ field: 'steps[1]', message: 'each value in nested property steps must be either object or array' }]],
    ['batch item an array', { steps: [[]] }, [{ field: 'steps[0]', message: 'must be a step object' }]],
    ['batch item field', { steps: [step(), step({ step_index: 'x' })] }, INDEX_MISSING.map((e) => ({ ...e, field: `steps[1].${e.field}` }))],
    ['batch item metadata', { steps: [step(), step({ step_index: 1, metadata: [1] })] }, [{ field: 'steps[1].metadata', message: 'must be an object' }]],
    [
      'batch item field and metadata',
      { steps: [step({ tokens: -2, metadata: 1 })] },
      [
        { field: 'steps[0].tokens', message: 'must not be less than 0' },
        { field: 'steps[0].metadata', message: 'must be an object' },
      ],
    ],
    ['body an array', [step()], [{ field: 'body', message: 'must be a step object or {"steps": [...]}' }]],
    ['body a string', 'x', [{ field: 'body', message: 'must be a step object or {"steps": [...]}' }]],
    ['body null', null, [{ field: 'body', message: 'must be a step object or {"steps": [...]}' }]],
  ];

  it.each(cases)('%s', async (_name, body, expected) => {
    expect(fastValidSteps(body)).toBeNull();
    expect(await errorsOf(body)).toEqual(expected);
  });
});

describe('StepsBodyPipe: what the fast path leaves to the DTOs', () => {
  it('lets the DTOs accept a source of 200 characters spelled with 201 UTF-16 units', async () => {
    const source = 'x'.repeat(199) + '😀';
    const body = step({ source });
    expect(fastValidSteps(body)).toBeNull();
    await expect(pipe.transform(body)).resolves.toEqual({ steps: [expect.objectContaining({ source })] });
  });

  it('sends an object that is not plain JSON to the DTOs', async () => {
    class Step {
      step_index = 0;
      step_type = 'input';
      timestamp = TS;
    }
    expect(fastValidSteps(new Step())).toBeNull();
    expect(fastValidSteps(Object.assign(Object.create(null), step()))).toBeNull();
  });
});

describe('fastValidSteps is never looser than the DTOs', () => {
  // Deterministic mutations of a valid step: every value of a field tried with
  // every field, singly and in a batch.
  const values: unknown[] = [0, -1, 1.5, 2 ** 31, 2147483647, '0', '', 'input', 'info', 'x'.repeat(201), TS, '2026-01-20', null, true, [], {}, [1], { a: 1 }];
  const fields = ['step_index', 'step_type', 'level', 'source', 'timestamp', 'tokens', 'cost_cents', 'duration_ms', 'input_data', 'output_data', 'metadata', 'steps', 'other'];

  it('accepts a body only when the DTOs accept it, with the same steps', async () => {
    const accepted = await expectNeverLooserThanDtos({
      key: 'steps',
      one: full,
      fields,
      values,
      fast: fastValidSteps,
      dtos: async (body) => (await pipe.throughDtos(body)).steps,
    });
    expect(accepted).toBeGreaterThan(20);
  });
});
