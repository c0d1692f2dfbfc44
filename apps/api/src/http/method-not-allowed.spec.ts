import { routePathPattern } from './method-not-allowed';

describe(routePathPattern.name, () => {
  it.each([
    ['/api/v1/traces', '/api/v1/traces', true],
    ['/api/v1/traces', '/api/v1/traces/', false],
    ['/api/v1/traces/:trace_id/steps', '/api/v1/traces/abc/steps', true],
    ['/api/v1/traces/:trace_id/steps', '/api/v1/traces//steps', false],
    ['/api/v1/traces/:trace_id/steps', '/api/v1/traces/a/b/steps', false],
    ['/files/:name.:ext', '/files/report.pdf', true],
    ['/geo/:lat-:lng', '/geo/1-2', true],
    ['/n/:id(^\\d+$)/x', '/n/42/x', true],
    ['/docs/*', '/docs/a/b.css', true],
    ['/a::b', '/a:b', true],
    ['/a.b', '/aXb', false],
  ])('%s matches %s: %s', (route, path, matches) => {
    expect(routePathPattern(route).test(path)).toBe(matches);
  });
});
