import { once } from 'node:events';
import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

export interface ServerSentEvent {
  event: string;
  id?: string;
  data: unknown;
}

/** One Server-Sent Event: `id`, `event`, one `data` line of JSON (JSON text has no raw newline). */
export function formatEvent(e: ServerSentEvent): string {
  return `${e.id === undefined ? '' : `id: ${e.id}\n`}event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/** `Last-Event-ID` as a step index to resume after; anything else starts from the beginning. */
export function lastEventId(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && /^\d{1,9}$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

/**
 * Writes `text/event-stream` responses on the raw socket. Everything that can
 * fail with a problem document (auth, validation, 404, integrity) happens
 * before `send` hijacks the reply; after that, a failure ends the stream with
 * an `error` event. A stream stops when the client disconnects, and every open
 * stream is ended when the application shuts down.
 */
@Injectable()
export class EventStreams implements BeforeApplicationShutdown {
  private readonly logger = new Logger(EventStreams.name);
  private readonly open = new Set<AbortController>();

  /** Streams being written now. */
  get active(): number {
    return this.open.size;
  }

  async send(reply: FastifyReply, events: (signal: AbortSignal) => AsyncIterable<ServerSentEvent>): Promise<void> {
    const abort = new AbortController();
    const raw = reply.raw;
    const onClose = () => abort.abort();
    this.open.add(abort);
    reply.hijack();
    raw.on('close', onClose);
    try {
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.flushHeaders();
      // HEAD (Fastify answers it for every GET route): the headers, not a paced replay.
      if (reply.request.method === 'HEAD') return;
      for await (const event of events(abort.signal)) {
        if (abort.signal.aborted || raw.destroyed) break;
        if (!raw.write(formatEvent(event))) await once(raw, 'drain', { signal: abort.signal });
      }
    } catch (err) {
      if (!abort.signal.aborted) {
        this.logger.error(`event stream failed: ${err instanceof Error ? err.message : String(err)}`, err instanceof Error ? err.stack : undefined);
        if (!raw.destroyed) {
          raw.write(formatEvent({ event: 'error', data: { status: 500, title: 'Internal Server Error', detail: 'The stream could not complete. The error has been logged.' } }));
        }
      }
    } finally {
      raw.off('close', onClose);
      this.open.delete(abort);
      if (!raw.writableEnded && !raw.destroyed) raw.end();
    }
  }

  beforeApplicationShutdown(): void {
    for (const stream of this.open) stream.abort();
  }
}
