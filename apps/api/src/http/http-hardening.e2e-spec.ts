import 'reflect-metadata';
import * as net from 'node:net';
import { Body, Controller, Get, Logger, Module, Param, Post, Query, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsEnum,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Min,
  ValidateNested,
} from 'class-validator';
import { ConflictError, UnauthorizedError } from '@aos/logs-domain';
import { configureHttp, createFastifyAdapter, UuidParamPipe } from './index';

enum Kind {
  Alpha = 'alpha',
  Beta = 'beta',
}

class CreateThingDto {
  @IsString() name: string;
  @IsInt() @Min(0) count: number;
  @IsUUID() id: string;
  @IsEnum(Kind) kind: Kind;
  @IsOptional() @IsObject() data?: Record<string, unknown>;
}

class StepDto {
  @IsInt() @Min(0) step_index: number;
  @IsObject() input_data: Record<string, unknown>;
}

class BatchDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => StepDto)
  steps: StepDto[];
}

class ListThingsQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) limit?: number;
  @IsOptional() @IsString() name?: string;
}

@Controller('things')
class ThingsController {
  @Post()
  create(@Body() dto: CreateThingDto): CreateThingDto {
    if (dto.name === 'conflict') throw new ConflictError('A thing with this name exists.');
    if (dto.name === 'locked-out') throw new UnauthorizedError('Missing or invalid API key.');
    if (dto.name === 'boom') throw new Error('connection to postgres://admin:s3cret@db failed');
    return dto;
  }

  @Post('batch')
  batch(@Body() dto: BatchDto): { count: number } {
    return { count: dto.steps.length };
  }

  @Get()
  list(@Query() query: ListThingsQuery): { items: unknown[]; query: ListThingsQuery } {
    return { items: [], query };
  }

  /** Fails as a stream that lost its reader: once its client has gone (`?wait=1`), or at once. */
  @Get('stream')
  async stream(@Query() query: { wait?: string }, @Req() request: { raw: { socket: net.Socket } }): Promise<never> {
    const socket = request.raw.socket;
    if (query.wait) await new Promise((resolve) => (socket.destroyed ? resolve(undefined) : socket.once('close', resolve)));
    throw Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  }

  @Get(':id')
  get(@Param('id', UuidParamPipe) id: string): { id: string } {
    return { id };
  }
}

@Module({ controllers: [ThingsController] })
class ThingsModule {}

const BODY_LIMIT = 64 * 1024;
const ID = '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b';
const valid = { name: 'widget', count: 3, id: ID, kind: 'alpha' };

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

describe('HTTP hardening (e2e)', () => {
  let app: NestFastifyApplication;
  let base: string;
  let port: number;

  beforeAll(async () => {
    app = await NestFactory.create<NestFastifyApplication>(ThingsModule, createFastifyAdapter({ bodyLimit: BODY_LIMIT }), {
      logger: false,
    });
    configureHttp(app, { bodyLimit: BODY_LIMIT });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as net.AddressInfo;
    port = address.port;
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await app?.close();
  });

  async function request(
    method: string,
    path: string,
    body?: string | Uint8Array,
    contentType: string | null = 'application/json',
  ): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (contentType !== null && body !== undefined) headers['content-type'] = contentType;
    const res = await fetch(`${base}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { raw: text };
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  const post = (body: string, path = '/things', contentType?: string) => request('POST', path, body, contentType);
  const json = (value: unknown) => JSON.stringify(value);

  function fieldsOf(answer: Answer): string[] {
    // One entry per failed constraint: a field can appear more than once.
    return [...new Set((answer.body['errors'] as Array<{ field: string }>).map((e) => e.field))];
  }

  function expectProblem(answer: Answer, status: number, path?: string): void {
    expect(answer.status).toBe(status);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.body).toEqual(
      expect.objectContaining({
        type: expect.any(String),
        title: expect.any(String),
        status,
        detail: expect.any(String),
      }),
    );
    if (path !== undefined) expect(answer.body['instance']).toBe(path);
    if (status === 400) {
      expect(Array.isArray(answer.body['errors'])).toBe(true);
      expect((answer.body['errors'] as unknown[]).length).toBeGreaterThan(0);
    }
  }

  /** `{"a":{"a":...{}}}` with `levels` nested objects. */
  function nestedObjects(levels: number): string {
    return '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
  }

  it('accepts a valid body', async () => {
    const answer = await post(json(valid));
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual(valid);
  });

  describe('validation (400 with errors)', () => {
    it.each([
      ['an unknown field', { ...valid, colour: 'red' }, ['colour']],
      ['a wrong type', { ...valid, count: '3' }, ['count']],
      ['a bad UUID', { ...valid, id: 'not-a-uuid' }, ['id']],
      ['a bad enum value', { ...valid, kind: 'gamma' }, ['kind']],
      ['a negative number', { ...valid, count: -1 }, ['count']],
      ['a missing field', { name: 'x', count: 1, kind: 'alpha' }, ['id']],
    ])('rejects %s', async (_case, body, fields) => {
      const answer = await post(json(body));
      expectProblem(answer, 400, '/things');
      expect(answer.body['type']).toBe('https://aos.dev/problems/validation-error');
      expect(fieldsOf(answer)).toEqual(fields);
    });

    it('names nested fields with dotted and bracketed paths', async () => {
      const answer = await post(
        json({ steps: [{ step_index: 0, input_data: {} }, { step_index: -2, input_data: 'x', extra: true }] }),
        '/things/batch',
      );
      expectProblem(answer, 400);
      expect(fieldsOf(answer).sort()).toEqual(['steps[1].extra', 'steps[1].input_data', 'steps[1].step_index']);
    });

    it.each([
      ['an array', '[]'],
      ['a string', '"thing"'],
      ['a number', '42'],
      ['null', 'null'],
    ])('rejects %s where an object is expected', async (_case, body) => {
      const answer = await post(body);
      expectProblem(answer, 400);
      expect(fieldsOf(answer)).toEqual(['body']);
    });

    it('rejects a malformed UUID path parameter, naming it', async () => {
      const answer = await request('GET', '/things/not-a-uuid');
      expectProblem(answer, 400, '/things/not-a-uuid');
      expect(fieldsOf(answer)).toEqual(['id']);
      expect((await request('GET', `/things/${ID}`)).body).toEqual({ id: ID });
    });

    it('rejects repeated query parameters', async () => {
      const answer = await request('GET', '/things?limit=1&limit=2');
      expectProblem(answer, 400, '/things');
      expect(fieldsOf(answer)).toEqual(['limit']);
    });

    it('rejects unknown and invalid query parameters', async () => {
      expect(fieldsOf(await request('GET', '/things?sort=name'))).toEqual(['sort']);
      expect(fieldsOf(await request('GET', '/things?limit=0'))).toEqual(['limit']);
      expect((await request('GET', '/things?limit=5')).status).toBe(200);
    });

    it('rejects a NUL character in a query parameter, which PostgreSQL cannot take, naming it', async () => {
      const answer = await request('GET', '/things?name=a%00b');
      expectProblem(answer, 400, '/things');
      expect(fieldsOf(answer)).toEqual(['name']);
      expect((await request('GET', '/things?name=a%20b')).status).toBe(200);
    });

    it('rejects the prototype keys as it does any unknown query parameter', async () => {
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        const answer = await request('GET', `/things?${key}=1&limit=5`);
        expectProblem(answer, 400, '/things');
        expect(fieldsOf(answer)).toEqual([key]);
      }
    });

    it('rejects query parameters on a route that reads none', async () => {
      const answer = await request('GET', `/things/${ID}?expand=1`);
      expectProblem(answer, 400, `/things/${ID}`);
      expect(fieldsOf(answer)).toEqual(['expand']);
      expect(fieldsOf(await request('POST', '/things?dry_run=1', json(valid)))).toEqual(['dry_run']);
    });
  });

  describe('JSON body safety', () => {
    it.each([
      ['NUL in a string value', '{"name":"a\\u0000b","count":1,"id":"x","kind":"alpha"}', 'body.$.name'],
      ['NUL in a key', '{"name":"a","data":{"k\\u0000":1}}', 'body.$.data.k?'],
      ['an unpaired surrogate', '{"name":"\\ud800x","count":1}', 'body.$.name'],
      ['a __proto__ key', '{"name":"a","data":{"__proto__":{"admin":true}}}', 'body.$.data.__proto__'],
    ])('rejects %s', async (_case, text, field) => {
      const answer = await post(text);
      expectProblem(answer, 400, '/things');
      expect(fieldsOf(answer)).toEqual([field]);
    });

    it('rejects malformed JSON', async () => {
      const answer = await post('{"name": "a",');
      expectProblem(answer, 400);
      expect(fieldsOf(answer)).toEqual(['body']);
    });

    it('rejects an empty JSON body', async () => {
      const answer = await post('');
      expectProblem(answer, 400);
      expect(fieldsOf(answer)).toEqual(['body']);
    });

    it('rejects bytes that are not UTF-8', async () => {
      const answer = await request('POST', '/things', new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]));
      expectProblem(answer, 400);
      expect(fieldsOf(answer)).toEqual(['body']);
    });

    it('rejects 20,000 levels of nesting with a 400, not a 500', async () => {
      const deep = '['.repeat(20_000) + ']'.repeat(20_000);
      const answer = await post(`{"name":"a","count":1,"id":"${ID}","kind":"alpha","data":{"x":${deep}}}`);
      expectProblem(answer, 400);
      const [field] = fieldsOf(answer);
      expect(field.startsWith('body.$.data.x[0][0]')).toBe(true);
    });

    it('rejects 65 levels of nesting and accepts 64', async () => {
      const body = (levels: number) => `{"name":"a","count":1,"id":"${ID}","kind":"alpha","data":${nestedObjects(levels - 1)}}`;
      const tooDeep = await post(body(65));
      expectProblem(tooDeep, 400);
      expect(fieldsOf(tooDeep)[0]).toMatch(/^body\.\$\.data(\.a)+$/);
      expect((tooDeep.body['errors'] as Array<{ message: string }>)[0].message).toMatch(/64/);
      const deepest = await post(body(64));
      expect(deepest.status).toBe(201);
    });

    it('accepts the +json media types', async () => {
      expect((await post(json(valid), '/things', 'application/merge-patch+json')).status).toBe(201);
      expect((await post(json(valid), '/things', 'application/json; charset=utf-8')).status).toBe(201);
    });
  });

  describe('limits and media types', () => {
    it('answers 413 for a body over the limit', async () => {
      const big = json({ ...valid, data: { pad: 'x'.repeat(BODY_LIMIT + 1) } });
      const answer = await post(big);
      expectProblem(answer, 413, '/things');
      expect(answer.body['type']).toBe('https://aos.dev/problems/payload-too-large');
    });

    it('answers 413 for a chunked body over the limit', async () => {
      const chunk = new TextEncoder().encode(' '.repeat(16 * 1024));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 8) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const res = await fetch(`${base}/things`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    });

    it('answers 413 to 20 oversized posts in parallel and stays healthy', async () => {
      const big = json({ ...valid, data: { pad: 'x'.repeat(4 * BODY_LIMIT) } });
      const answers = await Promise.all(Array.from({ length: 20 }, () => post(big)));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(413));
      expect((await post(json(valid))).status).toBe(201);
    });

    it.each([
      ['a text/plain', 'text/plain'],
      ['a form-urlencoded', 'application/x-www-form-urlencoded'],
      ['an XML', 'application/xml'],
      ['a malformed content type on the', 'nonsense'],
    ])('answers 415 for %s body', async (_case, contentType) => {
      const answer = await post('name=a', '/things', contentType);
      expectProblem(answer, 415, '/things');
      expect(answer.body['type']).toBe('https://aos.dev/problems/unsupported-media-type');
    });

    it('answers 415 for a body without a content type', async () => {
      const answer = await request('POST', '/things', new TextEncoder().encode(json(valid)), null);
      expectProblem(answer, 415);
    });

    it('answers 415 naming the charset or content coding of a JSON body it would misread', async () => {
      for (const contentType of ['application/json; charset=utf-16', 'application/json;charset="latin1"', 'application/json; charset=utf-8; charset=latin1']) {
        const answer = await request('POST', '/things', json(valid), contentType);
        expectProblem(answer, 415);
        expect(answer.body['detail']).toMatch(/charset=(utf-16|latin1) is not supported/);
      }
      const res = await fetch(`${base}/things`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: json(valid) });
      expect(res.status).toBe(415);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/Content-Encoding gzip is not supported/);
      for (const contentType of ['application/json; charset=UTF-8', 'application/json; charset="utf-8"']) {
        expect((await request('POST', '/things', json(valid), contentType)).status).toBe(201);
      }
    });
  });

  function rawExchange(payload: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (data += chunk));
      socket.on('close', () => resolve(data));
      socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(data) : reject(err)));
      socket.write(payload);
    });
  }

  describe('routing', () => {
    it('answers 405 with Allow for a wrong method on a known path', async () => {
      const answer = await request('DELETE', '/things');
      expectProblem(answer, 405, '/things');
      expect(answer.headers.get('allow')).toBe('GET, HEAD, POST');

      const onItem = await request('PUT', `/things/${ID}`, json({}));
      expectProblem(onItem, 405);
      expect(onItem.headers.get('allow')).toBe('GET, HEAD');
    });

    it('answers 404 for an unknown path', async () => {
      const answer = await request('GET', '/nothing/here?x=1');
      expectProblem(answer, 404, '/nothing/here');
      expect(answer.body['type']).toBe('https://aos.dev/problems/not-found');
    });

    it('answers a malformed path escape with a 400 problem', async () => {
      const answer = await request('GET', '/things/%E0%A4%A');
      expectProblem(answer, 400);
      expect(fieldsOf(answer)).toEqual(['path']);
    });

    it('answers an over-long path parameter with a 414 problem', async () => {
      const answer = await request('GET', `/things/${'a'.repeat(500)}`);
      expectProblem(answer, 414);
    });

    it('answers a malformed HTTP request on the socket with a 400 problem, and keeps serving', async () => {
      const raw = await rawExchange('GET /things HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n');
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
      expect(raw).toMatch(/content-type: application\/problem\+json/i);
      const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
      expect(body).toEqual(expect.objectContaining({ status: 400, errors: [expect.objectContaining({ field: 'request' })] }));
      expect((await request('GET', '/things')).status).toBe(200);
    });

    it('answers oversized headers on the socket with a 431 problem', async () => {
      const raw = await rawExchange(`GET /things HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(raw).toMatch(/^HTTP\/1\.1 431 /);
      expect(raw).toMatch(/content-type: application\/problem\+json/i);
      expect((await request('GET', '/things')).status).toBe(200);
    });
  });

  describe('domain and unexpected errors', () => {
    it('maps a DomainError to its status and type', async () => {
      const answer = await post(json({ ...valid, name: 'conflict' }));
      expectProblem(answer, 409, '/things');
      expect(answer.body).toEqual(
        expect.objectContaining({
          type: 'https://aos.dev/problems/conflict',
          title: 'Conflict',
          detail: 'A thing with this name exists.',
        }),
      );
    });

    it('adds WWW-Authenticate to a 401', async () => {
      const answer = await post(json({ ...valid, name: 'locked-out' }));
      expectProblem(answer, 401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('takes a client that hangs up mid-body or mid-stream for a client, not a server fault: nothing logged as an error', async () => {
      const logged = jest.spyOn(Logger.prototype, 'error');
      const warned = jest.spyOn(Logger.prototype, 'warn');
      try {
        for (const head of [
          'POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":',
          'POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"nam\r\n',
        ]) {
          await new Promise<void>((resolve, reject) => {
            const socket = net.connect(port, '127.0.0.1', () => {
              socket.write(head, () => setTimeout(() => socket.destroy(), 50));
            });
            socket.on('close', () => resolve());
            socket.on('error', reject);
          });
        }
        // And a stream that loses its reader because the client left (an export cut short).
        await new Promise<void>((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1', () => {
            socket.write('GET /things/stream?wait=1 HTTP/1.1\r\nHost: x\r\n\r\n', () => setTimeout(() => socket.destroy(), 50));
          });
          socket.on('close', () => resolve());
          socket.on('error', reject);
        });
        // The server notices the hang-up asynchronously.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(logged.mock.calls.map((c) => String(c[0]))).toEqual([]);
        expect(warned.mock.calls.map((c) => String(c[0]))).toEqual([]);
        expect((await request('GET', '/things')).status).toBe(200);
        // The same error with the client still there is the server's fault: a 500, logged.
        expectProblem(await request('GET', '/things/stream'), 500);
        expect(logged).toHaveBeenCalledWith(expect.stringMatching(/GET \/things\/stream failed: Error: Premature close/), expect.any(String));
      } finally {
        logged.mockRestore();
        warned.mockRestore();
      }
    });

    it('answers an unexpected error with a generic 500 that leaks nothing, and logs it', async () => {
      const logged = jest.spyOn(Logger.prototype, 'error');
      try {
        const answer = await post(json({ ...valid, name: 'boom' }));
        expectProblem(answer, 500, '/things');
        expect(JSON.stringify(answer.body)).not.toMatch(/postgres|s3cret|connection/);
        expect(logged).toHaveBeenCalledWith(expect.stringMatching(/s3cret/), expect.any(String));
      } finally {
        logged.mockRestore();
      }
    });
  });

  it('is still healthy after all of the above', async () => {
    const answers = await Promise.all([post(json(valid)), request('GET', `/things/${ID}`), request('GET', '/things')]);
    expect(answers.map((a) => a.status)).toEqual([201, 200, 200]);
  });
});
