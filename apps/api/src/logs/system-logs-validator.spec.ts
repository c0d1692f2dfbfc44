import { ValidationError } from '@aos/logs-domain';
import { expectNeverLooserThanDtos } from '../testing/never-looser';
import { SystemLogsBodyPipe } from './logs.pipes';
import { fastValidSystemLogs, isValidSystemLog } from './system-logs-validator';

const pipe = new SystemLogsBodyPipe();
const log = (over: Record<string, unknown> = {}) => ({ level: 'info', source: 'billing-worker', message: 'charged', ...over });
const full = (i = 0) => ({
  level: 'error',
  source: 'billing-worker',
  message: `payment ${i} failed`,
  timestamp: '2026-01-20T12:15:30.123+02:00',
  context: { order: i, nested: { ok: false, list: [1, 'two', null] } },
  trace_id: 'trace-1',
  request_id: 'req-1',
});

async function fieldsOf(body: unknown): Promise<string[]> {
  try {
    await pipe.transform(body);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).errors.map((x) => x.field);
  }
  throw new Error('accepted');
}

describe('fastValidSystemLogs', () => {
  it('answers a valid single log as a batch of the parsed object itself', () => {
    const body = full();
    const logs = fastValidSystemLogs(body);
    expect(logs).toHaveLength(1);
    expect(logs?.[0]).toBe(body);
  });

  it('answers a valid batch as its own logs array', () => {
    const body = { logs: [full(0), log()] };
    expect(fastValidSystemLogs(body)).toBe(body.logs);
  });

  it('takes null for the optional fields @IsOptional() lets through, except timestamp', () => {
    expect(isValidSystemLog(log({ context: null, trace_id: null, request_id: null }))).toBe(true);
    expect(isValidSystemLog(log({ timestamp: null }))).toBe(false);
  });

  it('accepts 1000 logs, not 0 or 1001', () => {
    const many = (n: number) => ({ logs: Array.from({ length: n }, () => log()) });
    expect(fastValidSystemLogs(many(1000))).toHaveLength(1000);
    expect(fastValidSystemLogs(many(0))).toBeNull();
    expect(fastValidSystemLogs(many(1001))).toBeNull();
  });

  it('gives the same logs as the DTOs for what it accepts', async () => {
    for (const body of [full(), { logs: [full(0), full(1)] }, log({ context: null })]) {
      const fast = fastValidSystemLogs(JSON.parse(JSON.stringify(body)));
      const dto = await pipe.throughDtos(JSON.parse(JSON.stringify(body)));
      expect(fast).not.toBeNull();
      expect(JSON.parse(JSON.stringify(fast))).toEqual(JSON.parse(JSON.stringify(dto.logs)));
    }
  });
});

/** Each rule: the fast path refuses, and the route still answers 400 naming the field. */
describe('SystemLogsBodyPipe: each rule names its field', () => {
  const cases: Array<[string, unknown, string]> = [
    ['level missing', { source: 's', message: 'm' }, 'level'],
    ['level unknown', log({ level: 'loud' }), 'level'],
    ['level null', log({ level: null }), 'level'],
    ['source missing', { level: 'info', message: 'm' }, 'source'],
    ['source empty', log({ source: '' }), 'source'],
    ['source a number', log({ source: 1 }), 'source'],
    ['source of 201 characters', log({ source: 'x'.repeat(201) }), 'source'],
    ['message missing', { level: 'info', source: 's' }, 'message'],
    ['message of 32769 characters', log({ message: 'x'.repeat(32_769) }), 'message'],
    ['timestamp without offset', log({ timestamp: '2026-01-20T10:00:00' }), 'timestamp'],
    ['timestamp rolled over', log({ timestamp: '2026-02-30T10:00:00Z' }), 'timestamp'],
    ['context an array', log({ context: [1] }), 'context'],
    ['context a string', log({ context: 'x' }), 'context'],
    ['trace_id a number', log({ trace_id: 7 }), 'trace_id'],
    ['request_id of 201 characters', log({ request_id: 'r'.repeat(201) }), 'request_id'],
    ['unknown field', log({ colour: 'red' }), 'colour'],
    ['batch with another field', { logs: [log()], x: 1 }, 'x'],
    ['batch empty', { logs: [] }, 'logs'],
    ['batch of 1001', { logs: Array.from({ length: 1001 }, () => log()) }, 'logs'],
    ['batch not a list', { logs: 'many' }, 'logs'],
    ['batch item null', { logs: [log(), null] }, 'logs[1]'],
    ['batch item field', { logs: [log(), log({ level: 'x' })] }, 'logs[1].level'],
    ['body an array', [log()], 'body'],
    ['body null', null, 'body'],
  ];

  it.each(cases)('%s', async (_name, body, field) => {
    expect(fastValidSystemLogs(body)).toBeNull();
    expect(await fieldsOf(body)).toContain(field);
  });

  it('lets the DTOs accept a source of 200 characters spelled with 201 UTF-16 units', async () => {
    const source = 'x'.repeat(199) + '😀';
    expect(fastValidSystemLogs(log({ source }))).toBeNull();
    await expect(pipe.transform(log({ source }))).resolves.toEqual({ logs: [expect.objectContaining({ source })] });
  });

  it('sends an object that is not plain JSON to the DTOs', () => {
    expect(fastValidSystemLogs(Object.assign(Object.create(null), log()))).toBeNull();
  });
});

describe('fastValidSystemLogs is never looser than the DTOs', () => {
  const values: unknown[] = [0, -1, 1.5, '', 'info', 'error', 'x', 'x'.repeat(201), '2026-01-20T10:00:00Z', '2026-01-20', null, true, [], {}, [1], { a: 1 }];
  const fields = ['level', 'source', 'message', 'timestamp', 'context', 'trace_id', 'request_id', 'logs', 'other'];

  it('accepts a body only when the DTOs accept it, with the same logs', async () => {
    const accepted = await expectNeverLooserThanDtos({
      key: 'logs',
      one: full,
      fields,
      values,
      fast: fastValidSystemLogs,
      dtos: async (body) => (await pipe.throughDtos(body)).logs,
    });
    expect(accepted).toBeGreaterThan(20);
  });
});
