import { AsyncLocalStorage } from 'node:async_hooks';

/** The correlation ids of the request being served, carried into every log written while serving it. */
export interface RequestContext {
  request_id?: string;
  trace_id?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `work` (and everything it awaits or schedules) inside `context`. */
export function runWithRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** The context of the request being served, if any. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}
