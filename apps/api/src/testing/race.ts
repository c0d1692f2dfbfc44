import { Client } from 'pg';
import type { E2eApp } from './e2e-app';

/** One HTTP answer, read whole: status, parsed JSON body (null when not JSON) and the raw text. */
export interface Answer {
  status: number;
  body: any;
  text: string;
}

export async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a file): the text says it.
  }
  return { status: res.status, body, text };
}

/** Sends the requests at once and answers them in the order given. */
/** One request: method, path and the options of E2eApp.request. */
export type Send = [method: string, path: string, opts?: Parameters<E2eApp['request']>[2]];

export function together(e: E2eApp, sends: Send[]): Promise<Answer[]> {
  return Promise.all(sends.map(async ([method, path, opts]) => answerOf(await e.request(method, path, opts))));
}

/**
 * Two requests `delayMs` apart (the first sent first). Rounds that sweep the
 * delay land the second on each part of the first, where an overlap sent at
 * once would always let the faster one win.
 */
export async function apart(e: E2eApp, first: Send, second: Send, delayMs: number): Promise<[Answer, Answer]> {
  const one = together(e, [first]);
  await new Promise((r) => setTimeout(r, delayMs));
  const [b] = await together(e, [second]);
  const [a] = await one;
  return [a, b];
}

/** `n` copies of one request, sent at once. */
export function times(n: number, method: string, path: string, opts?: Parameters<E2eApp['request']>[2]): Send[] {
  return Array.from({ length: n }, () => [method, path, opts]);
}

/** Statuses, sorted (the order of a race's outcomes is the race's). */
export const statuses = (answers: readonly Answer[]) => answers.map((a) => a.status).sort((a, b) => a - b);

/** Answers of 5xx, each named with its body: a failing expectation shows what the server said. */
export const serverErrors = (answers: readonly Answer[]) => answers.filter((a) => a.status >= 500).map((a) => `${a.status} ${a.text.slice(0, 400)}`);

/**
 * The database as its owner (superuser on the test server): the consistency
 * checks read every tenant's rows, past row-level security.
 */
export async function ownerClient(e: E2eApp): Promise<Client> {
  const client = new Client({ connectionString: e.databaseUrl });
  await client.connect();
  return client;
}
