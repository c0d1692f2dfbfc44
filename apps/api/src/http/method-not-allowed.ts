import type { FastifyInstance } from 'fastify';
import { buildProblem, instanceOf, sendProblem } from './problem';

/**
 * A route path in find-my-way syntax (`/traces/:trace_id/steps`, `*`,
 * `:id(^\\d+)`, `::` for a literal colon) as a RegExp over request paths.
 * Parameters match one non-empty segment (part); the regex of a parameter is
 * not applied, so the match is at worst a little wider than the router's.
 */
export function routePathPattern(path: string): RegExp {
  let source = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === ':' && path[i + 1] === ':') {
      source += ':';
      i++;
    } else if (c === ':') {
      let j = i + 1;
      while (j < path.length && !'(-./'.includes(path[j])) j++;
      if (path[j] === '(') {
        let depth = 0;
        for (; j < path.length; j++) {
          if (path[j] === '\\') j++;
          else if (path[j] === '(') depth++;
          else if (path[j] === ')' && --depth === 0) break;
        }
        j++;
      }
      const optional = path[j] === '?';
      if (optional) j++;
      source += optional ? '[^/]*' : '[^/]+?';
      i = j - 1;
    } else if (c === '*') {
      source += '.*';
    } else {
      source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

function requestPath(url: string | undefined): string | undefined {
  const path = instanceOf(url);
  if (path === undefined) return undefined;
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

/**
 * 405 with `Allow` for a known path asked with a method it has no route for
 * (Fastify alone answers 404). Routes are recorded as they are added
 * (`onRoute`, so this must run before `app.init()`/`listen()`); a request the
 * router did not match is checked in `onRequest`. An unknown path goes on to
 * the not-found handler, i.e. Nest's 404, which the global filter answers.
 */
export function installMethodNotAllowed(fastify: FastifyInstance): void {
  const routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  fastify.addHook('onRoute', (route) => {
    const key = route.url;
    let entry = routes.get(key);
    if (!entry) {
      entry = { pattern: routePathPattern(key), methods: new Set() };
      routes.set(key, entry);
    }
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      entry.methods.add(String(method).toUpperCase());
    }
  });

  fastify.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) {
      done();
      return;
    }
    const path = requestPath(request.raw.url);
    const allowed = new Set<string>();
    if (path !== undefined) {
      for (const { pattern, methods } of routes.values()) {
        if (pattern.test(path)) methods.forEach((m) => allowed.add(m));
      }
    }
    if (allowed.size === 0 || allowed.has(request.method)) {
      done();
      return;
    }
    if (allowed.has('GET')) allowed.add('HEAD');
    const allow = [...allowed].sort().join(', ');
    sendProblem(
      reply,
      buildProblem({
        status: 405,
        detail: `${request.method} is not allowed here; allowed: ${allow}.`,
        instance: instanceOf(request.raw.url),
      }),
      { Allow: allow },
    );
  });
}
