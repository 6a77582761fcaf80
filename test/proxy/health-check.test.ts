/**
 * Active health checks against real HTTP servers on loopback. Each server answers its checks from
 * a script of statuses, one per check, so that results do not depend on timing; waits are for
 * events, each bounded so that a broken checker fails the test instead of hanging it.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { ManualClock } from '../../src/balancer/clock.js';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { seededRng } from '../../src/balancer/rng.js';
import { ConfigError } from '../../src/errors.js';
import type { HealthCheckOptions, HealthEvent, Scheduler } from '../../src/proxy/health-check.js';
import { DEFAULT_HEALTH_CHECK, HealthChecker, NODE_SCHEDULER, validateHealthCheckOptions } from '../../src/proxy/health-check.js';
import type { Backend } from '../helpers/backends.js';
import { closeBackends, closedPort, startBackend } from '../helpers/backends.js';

const BOUND_MS = 5_000;
const FAST: Partial<HealthCheckOptions> = { intervalMs: 15, jitterPercent: 0, timeoutMs: 1_000 };

interface Scripted extends Backend {
  /** Request lines of the checks received, with the User-Agent. */
  readonly checks: string[];
  /** Connections accepted so far. */
  readonly accepted: { connections: number };
  /** Resolves once every connection to it has closed. */
  idle(): Promise<void>;
}

/** A backend whose checks get the scripted statuses in order, then the last one forever; `hold` never answers. */
async function scripted(name: string, script: (number | 'hold')[]): Promise<Scripted> {
  const checks: string[] = [];
  const open = new Set<Socket>();
  const accepted = { connections: 0 };
  let onIdle: (() => void) | null = null;
  const backend = await startBackend(name, (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    checks.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers['user-agent'] ?? ''}`);
    const next = script.length > 1 ? script.shift()! : script[0]!;
    if (next === 'hold') return;
    res.writeHead(next, { 'content-type': 'text/plain' });
    res.end(next < 400 ? 'ok' : 'not ok');
  });
  backend.server.on('connection', (socket: Socket) => {
    accepted.connections++;
    open.add(socket);
    socket.on('close', () => {
      open.delete(socket);
      if (open.size === 0) onIdle?.();
    });
  });
  return Object.assign(backend, {
    checks,
    accepted,
    idle: () =>
      open.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${name}: ${open.size} connections still open after ${BOUND_MS} ms`)), BOUND_MS);
            onIdle = () => {
              clearTimeout(timer);
              resolve();
            };
          }),
  });
}

/** Collects events; `until` resolves at the first event from `from` on that matches. */
class Events {
  readonly list: HealthEvent[] = [];
  #waiters: { match: (e: HealthEvent) => boolean; from: number; resolve: (i: number) => void }[] = [];

  readonly push = (e: HealthEvent): void => {
    this.list.push(e);
    const i = this.list.length - 1;
    this.#waiters = this.#waiters.filter((w) => {
      if (i < w.from || !w.match(e)) return true;
      w.resolve(i);
      return false;
    });
  };

  /** The index of the first matching event at or after `from`. */
  until(match: (e: HealthEvent) => boolean, what: string, from = 0): Promise<number> {
    const seen = this.list.findIndex((e, i) => i >= from && match(e));
    if (seen >= 0) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${BOUND_MS} ms; events: ${JSON.stringify(this.list)}`)), BOUND_MS);
      this.#waiters.push({ match, from, resolve: (i) => (clearTimeout(timer), resolve(i)) });
    });
  }

  checks(name: string, from = 0, to = this.list.length): string[] {
    return this.list.slice(from, to).flatMap((e) => (e.kind === 'checked' && e.endpoint === name ? [e.passed ? 'pass' : `fail ${e.cause}`] : []));
  }
}

function setup(specs: EndpointSpec[], options: Partial<HealthCheckOptions> = FAST, scheduler?: Scheduler): { board: LoadBoard; checker: HealthChecker; events: Events } {
  const board = new LoadBoard(new ManualClock());
  const set = createEndpointSet(specs, 1);
  board.sync(set);
  const events = new Events();
  const checker = new HealthChecker({ board, rng: seededRng(3), options, onEvent: events.push, ...(scheduler === undefined ? {} : { scheduler }) });
  checker.update(set);
  return { board, checker, events };
}

const down = (name: string) => (e: HealthEvent) => e.kind === 'down' && e.endpoint === name;
const up = (name: string) => (e: HealthEvent) => e.kind === 'up' && e.endpoint === name;
const checked = (name: string) => (e: HealthEvent) => e.kind === 'checked' && e.endpoint === name;

test('health check: three failures in a row take an endpoint out, two passes bring it back', async () => {
  const pod = await scripted('pod-0', [200, 503, 200, 503, 503, 503, 200, 503, 200, 200, 200]);
  const { board, checker, events } = setup([{ name: 'pod-0', address: pod.address }]);
  try {
    assert.equal(checker.state('pod-0'), 'unknown');
    assert.equal(board.load('pod-0')!.available, true, 'in rotation before any check');
    const out = await events.until(down('pod-0'), 'down');
    assert.deepEqual(events.checks('pod-0', 0, out + 1), ['pass', 'fail status 503', 'pass', 'fail status 503', 'fail status 503', 'fail status 503']);
    assert.deepEqual(events.list[out], { kind: 'down', endpoint: 'pod-0', cause: 'status 503' });
    assert.equal(board.isDown('pod-0', 'failed-check'), true);
    assert.equal(board.load('pod-0')!.available, false);
    assert.equal(checker.state('pod-0'), 'unhealthy');
    const back = await events.until(up('pod-0'), 'up', out);
    assert.deepEqual(events.checks('pod-0', out + 1, back + 1), ['pass', 'fail status 503', 'pass', 'pass']);
    assert.equal(board.load('pod-0')!.available, true);
    assert.equal(checker.state('pod-0'), 'healthy');
    assert.equal(pod.checks[0], 'GET /healthz shardgate-health-check');
    assert.equal(pod.accepted.connections, 1, 'every check over one kept-alive connection');
  } finally {
    await checker.close();
    await closeBackends([pod]);
  }
});

test('health check: an endpoint starts in rotation, and its first failure takes it out at once', async () => {
  const pod = await scripted('pod-0', [500, 200]);
  const { board, checker, events } = setup([{ name: 'pod-0', address: pod.address }], { ...FAST, path: '/ready?deep=1', healthyThreshold: 1 });
  try {
    const out = await events.until(down('pod-0'), 'down');
    assert.deepEqual(events.checks('pod-0', 0, out + 1), ['fail status 500']);
    assert.equal(board.load('pod-0')!.available, false);
    await events.until(up('pod-0'), 'up', out);
    assert.equal(pod.checks[0], 'GET /ready?deep=1 shardgate-health-check');
  } finally {
    await checker.close();
    await closeBackends([pod]);
  }
});

test('health check: a status from 200 to 399 passes; 4xx fails', async () => {
  const pod = await scripted('pod-0', [204, 302, 399, 404]);
  const { checker, events } = setup([{ name: 'pod-0', address: pod.address }]);
  try {
    const out = await events.until(down('pod-0'), 'down');
    assert.deepEqual(events.checks('pod-0', 0, out + 1), ['pass', 'pass', 'pass', 'fail status 404', 'fail status 404', 'fail status 404']);
  } finally {
    await checker.close();
    await closeBackends([pod]);
  }
});

test('health check: no answer within the timeout fails as a timeout; a refused connection fails by its code', async () => {
  const silent = await scripted('pod-0', ['hold']);
  const port = await closedPort();
  const { board, checker, events } = setup(
    [
      { name: 'pod-0', address: silent.address },
      { name: 'pod-1', address: `127.0.0.1:${port}` },
    ],
    { ...FAST, timeoutMs: 40 },
  );
  try {
    const a = await events.until(down('pod-0'), 'pod-0 down');
    assert.deepEqual(events.list[a], { kind: 'down', endpoint: 'pod-0', cause: 'timeout' });
    const b = await events.until(down('pod-1'), 'pod-1 down');
    assert.deepEqual(events.list[b], { kind: 'down', endpoint: 'pod-1', cause: 'ECONNREFUSED' });
    assert.equal(board.availableCount, 0);
  } finally {
    await checker.close();
    await closeBackends([silent]);
  }
});

test('health check: its mark and an outlier ejection are independent', async () => {
  const pod = await scripted('pod-0', [503, 200]);
  const { board, checker, events } = setup([{ name: 'pod-0', address: pod.address }], { ...FAST, healthyThreshold: 3 });
  try {
    board.setDown('pod-0', 'ejected', true);
    const back = await events.until(up('pod-0'), 'up');
    assert.equal(board.isDown('pod-0', 'failed-check'), false);
    assert.equal(board.load('pod-0')!.available, false, 'still ejected');
    assert.deepEqual(events.checks('pod-0', 0, back + 1), ['fail status 503', 'pass', 'pass', 'pass']);
  } finally {
    await checker.close();
    await closeBackends([pod]);
  }
});

test('health check: follows the set; a moved endpoint starts over; close stops everything and lifts its marks', async () => {
  const a = await scripted('pod-0', [503]);
  const b = await scripted('pod-1', [200]);
  const moved = await scripted('pod-0 moved', [200]);
  const board = new LoadBoard(new ManualClock());
  const events = new Events();
  const checker = new HealthChecker({ board, rng: seededRng(1), options: FAST, onEvent: events.push });
  try {
    const one = createEndpointSet([{ name: 'pod-0', address: a.address }], 1);
    board.sync(one);
    checker.update(one);
    await events.until(down('pod-0'), 'pod-0 down');
    assert.equal(checker.state('pod-1'), null);

    const two = createEndpointSet([{ name: 'pod-0', address: a.address }, { name: 'pod-1', address: b.address }], 2);
    board.sync(two);
    checker.update(two);
    assert.equal(checker.state('pod-0'), 'unhealthy', 'an unchanged endpoint keeps its state');
    await events.until(checked('pod-1'), 'a check of pod-1');
    assert.equal(board.availableCount, 1);

    // pod-0 comes back with a new address: checks start over there, and it passes.
    const three = createEndpointSet([{ name: 'pod-0', address: moved.address }, { name: 'pod-1', address: b.address }], 3);
    board.sync(three);
    const from = events.list.length;
    checker.update(three);
    assert.equal(checker.state('pod-0'), 'unknown');
    assert.equal(board.load('pod-0')!.available, true, 'its old mark is lifted');
    await events.until((e) => checked('pod-0')(e) && e.kind === 'checked' && e.passed, 'a pass of pod-0 at its new address', from);
    assert.equal(checker.state('pod-0'), 'healthy');

    // pod-1 leaves: its connection closes, and no check reaches it any more.
    const four = createEndpointSet([{ name: 'pod-0', address: moved.address }], 4);
    board.sync(four);
    checker.update(four);
    assert.equal(checker.state('pod-1'), null);
    await b.idle();
    const seen = b.checks.length;
    await events.until(checked('pod-0'), 'another check of pod-0', events.list.length);
    await events.until(checked('pod-0'), 'yet another check of pod-0', events.list.length);
    assert.equal(b.checks.length, seen, 'a removed endpoint is not checked');
  } finally {
    await checker.close();
  }
  try {
    assert.equal(checker.state('pod-0'), null);
    checker.update(createEndpointSet([{ name: 'pod-0', address: a.address }], 5));
    assert.equal(checker.state('pod-0'), null, 'update after close does nothing');
    // Resolves only when the checker's connection is gone.
    await moved.idle();
    await a.idle();
    await checker.close();
  } finally {
    await closeBackends([a, b, moved]);
  }
});

test('health check: close lifts the marks it set', async () => {
  const pod = await scripted('pod-0', [503]);
  const { board, checker, events } = setup([{ name: 'pod-0', address: pod.address }]);
  try {
    await events.until(down('pod-0'), 'down');
    assert.equal(board.load('pod-0')!.available, false);
    await checker.close();
    assert.equal(board.load('pod-0')!.available, true, 'nobody would bring it back otherwise');
  } finally {
    await checker.close();
    await closeBackends([pod]);
  }
});

test('health check: waits are the interval plus jitter from the Rng; the first comes within one jitter', async () => {
  const pod = await scripted('pod-0', [200]);
  const delays: number[] = [];
  const compressed: Scheduler = {
    setTimeout: (run, ms) => {
      delays.push(ms);
      // The waits shrink; the check's own timeout stays as it is.
      return NODE_SCHEDULER.setTimeout(run, ms === 1_000 ? ms : Math.min(ms, 2));
    },
    clearTimeout: (handle) => NODE_SCHEDULER.clearTimeout(handle),
  };
  const { checker, events } = setup([{ name: 'pod-0', address: pod.address }], { intervalMs: 5_000, jitterPercent: 10, timeoutMs: 1_000 }, compressed);
  try {
    let from = 0;
    for (let i = 0; i < 6; i++) from = (await events.until(checked('pod-0'), `check ${i}`, from)) + 1;
    const first = delays[0]!;
    assert.ok(first >= 0 && first <= 500, `first wait ${first}`);
    const timeouts = delays.filter((d) => d === 1_000);
    const waits = delays.slice(1).filter((d) => d !== 1_000);
    assert.ok(timeouts.length >= 6, 'every check arms its timeout');
    assert.ok(waits.length >= 5);
    for (const w of waits) assert.ok(w >= 5_000 && w <= 5_500, `wait ${w}`);
    assert.ok(new Set(waits).size > 1, 'jitter varies');
  } finally {
    await checker.close();
    await closeBackends([pod]);
  }
});

test('validateHealthCheckOptions: the defaults; every setting checked and named', () => {
  assert.deepEqual(validateHealthCheckOptions(undefined, 'healthCheck'), DEFAULT_HEALTH_CHECK);
  assert.deepEqual(DEFAULT_HEALTH_CHECK, { path: '/healthz', intervalMs: 5_000, jitterPercent: 10, timeoutMs: 1_000, unhealthyThreshold: 3, healthyThreshold: 2 });
  assert.equal(validateHealthCheckOptions({ path: '/ready?x=1' }, 'h').path, '/ready?x=1');
  for (const [raw, field, pattern] of [
    [{ path: 'healthz' }, 'proxy.healthCheck.path', /must start with \//],
    [{ path: '/a b' }, 'proxy.healthCheck.path', /no spaces/],
    [{ path: '/a\r\nX: y' }, 'proxy.healthCheck.path', /control characters/],
    [{ path: 5 }, 'proxy.healthCheck.path', /must be a string/],
    [{ intervalMs: 0 }, 'proxy.healthCheck.intervalMs', /from 1 to 86400000; the default is 5000/],
    [{ timeoutMs: 2.5 }, 'proxy.healthCheck.timeoutMs', /is 2.5/],
    [{ unhealthyThreshold: 0 }, 'proxy.healthCheck.unhealthyThreshold', /from 1 to 1000/],
    [{ jitterPercent: 150 }, 'proxy.healthCheck.jitterPercent', /from 0 to 100/],
    [{ interval: 5 }, 'proxy.healthCheck.interval', /not a setting here/],
  ] as const) {
    assert.throws(
      () => validateHealthCheckOptions(raw, 'proxy.healthCheck'),
      (e: unknown) => e instanceof ConfigError && e.code === 'SG_ERR_HEALTH' && e.field === field && pattern.test(e.message),
      JSON.stringify(raw),
    );
  }
});
