import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ALGORITHMS } from '../../src/balancer/factory.js';
import { loadBoardOptions, loadConfig, mergeLayers, parseConfig } from '../../src/config/config.js';
import type { FlagLayer } from '../../src/config/config.js';
import { DEFAULT_OUTLIER } from '../../src/balancer/outlier-detector.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { ConfigError, ERROR_CODES } from '../../src/errors.js';
import { DEFAULT_MAX_BODY_BUFFER } from '../../src/proxy/limits.js';
import { DEFAULT_MAX_HEADER_BYTES, DEFAULT_TIMEOUTS } from '../../src/proxy/proxy.js';

const TWO = [
  { name: 'pod-0', address: '127.0.0.1:9000' },
  { name: 'pod-1', address: '127.0.0.1:9001' },
];

function ringHash(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { endpoints: TWO, key: 'header:x-affinity', balancer: { algorithm: 'ring-hash', ...extra } };
}

/** Asserts `fn` throws a ConfigError for `field` whose message holds every one of `parts`. */
function refuses(fn: () => unknown, field: string, ...parts: string[]): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${field}, got ${String(caught)}`);
  assert.equal(caught.field, field, caught.message);
  assert.ok(caught.code in ERROR_CODES, `code ${caught.code} is catalogued`);
  assert.ok(caught.message.includes(field), `message names the field: ${caught.message}`);
  for (const p of parts) assert.ok(caught.message.includes(p), `message holds ${JSON.stringify(p)}: ${caught.message}`);
  // zod's raw wording names neither the value nor the choices; it must never reach the user.
  assert.doesNotMatch(caught.message, /Invalid input|Invalid option|Too small|Too big|received/);
  return caught;
}

test('config: a minimal document gets every default', () => {
  const c = parseConfig({ endpoints: TWO });
  assert.deepEqual(c.listen, { host: '0.0.0.0', port: 8080 });
  assert.deepEqual(c.balancer, { algorithm: 'p2c' });
  assert.equal(c.key, null);
  assert.equal(c.keyTransform, null);
  assert.equal(c.endpoints.kind, 'inline');
  assert.equal(c.logLevel, 'info');
  assert.deepEqual(c.proxy, {
    endpointHeader: true,
    maxHeaderBytes: 16_384,
    maxBodyBuffer: 65_536,
    timeouts: { ...DEFAULTS.timeouts },
    tls: null,
    upstreamTls: { caFile: null, insecure: false },
    maxConnections: 0,
    maxBodyBytes: 0,
    maxConcurrentStreams: 100,
    maxHeaderCount: 100,
    maxUpstreamSessions: 2,
    maxInflight: 0,
    queue: { max: 1_024, timeoutMs: 1_000 },
    retries: { retries: 2, retryOn: ['connect-failure', 'refused-stream', 'unread-reset', 'reset', 'gateway-error'], nonIdempotent: false, budget: { budgetPercent: 20, minRetriesPerSecond: 10, budgetWindowMs: 10_000 } },
    outlier: { ...DEFAULT_OUTLIER },
    healthCheck: null,
  });
});

test('config: data-plane settings (TLS, limits, retries, health) are read and checked, naming the field', () => {
  const c = parseConfig({
    endpoints: TWO,
    proxy: {
      tls: { cert: 'c.pem', key: 'k.pem' },
      maxInflight: 8,
      retries: { retries: 1, retryOn: 'connect-failure,5xx', budgetPercent: 50 },
      outlier: { consecutive5xx: 3 },
      healthCheck: { path: '/ready', intervalMs: 1_000 },
    },
  }, {}, '/etc/shardgate');
  assert.deepEqual(c.proxy.tls, { certFile: '/etc/shardgate/c.pem', keyFile: '/etc/shardgate/k.pem' });
  assert.equal(c.proxy.maxInflight, 8);
  assert.deepEqual(c.proxy.retries.retryOn, ['connect-failure', '5xx']);
  assert.equal(c.proxy.retries.budget.budgetPercent, 50);
  assert.equal(c.proxy.outlier?.consecutive5xx, 3);
  assert.equal(c.proxy.healthCheck?.path, '/ready');
  assert.equal(parseConfig({ endpoints: TWO, proxy: { outlier: false } }).proxy.outlier, null);
  assert.equal(parseConfig({ endpoints: TWO, workers: 3 }).workers, 3);
  refuses(() => parseConfig({ endpoints: TWO, workers: 0 }), 'workers', 'is 0');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { tls: { cert: 'c.pem' } } }), 'proxy.tls.key', 'missing');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { retries: { retryOn: 'teapot' } } }), 'proxy.retries.retryOn', '"teapot"');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { outlier: { consecutive5xx: -1 } } }), 'proxy.outlier.consecutive5xx', '-1');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { healthCheck: { path: 'healthz' } } }), 'proxy.healthCheck.path', 'healthz');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { maxInflight: -2 } }), 'proxy.maxInflight', '-2');
});

test("config: defaults agree with the proxy's own", () => {
  assert.deepEqual({ ...DEFAULTS.timeouts }, { ...DEFAULT_TIMEOUTS });
  assert.equal(DEFAULTS.maxHeaderBytes, DEFAULT_MAX_HEADER_BYTES);
  assert.equal(DEFAULTS.maxBodyBuffer, DEFAULT_MAX_BODY_BUFFER);
});

test('config: ring-hash with bounded loads becomes a typed BalancerConfig', () => {
  const c = parseConfig(ringHash({ boundedLoad: 1.25, minRingSize: 1024 }));
  assert.deepEqual(c.balancer, {
    algorithm: 'ring-hash',
    loadFactor: 1.25,
    keyless: { algorithm: 'p2c' },
    minRingSize: 1024,
    maxRingSize: 8_388_608,
  });
  assert.equal(c.key, 'header:x-affinity');
});

test('config: every algorithm parses with its defaults', () => {
  for (const algorithm of ALGORITHMS) {
    const keyed = !['random', 'round-robin', 'least-request', 'p2c', 'peak-ewma'].includes(algorithm);
    const balancer: Record<string, unknown> = { algorithm };
    if (algorithm === 'ranges') balancer.ranges = [{ from: 0, to: 9, endpoint: 'pod-0' }];
    if (algorithm === 'lookup') balancer.entries = [{ key: 'k', endpoint: 'pod-0' }];
    const c = parseConfig({ endpoints: TWO, balancer, ...(keyed ? { key: 'query:k' } : {}) });
    assert.equal(c.balancer.algorithm, algorithm);
  }
});

test('config: peak-ewma as the keyless fallback carries its options to the load board', () => {
  const c = parseConfig(ringHash({ keyless: 'peak-ewma', decayMs: 5000, defaultRttMs: 3 }));
  assert.ok('keyless' in c.balancer);
  assert.deepEqual(c.balancer.keyless, { algorithm: 'peak-ewma', decayMs: 5000, defaultRttMs: 3 });
  assert.deepEqual(loadBoardOptions(c.balancer), { decayMs: 5000, defaultRttMs: 3 });
  const top = parseConfig({ endpoints: TWO, balancer: { algorithm: 'peak-ewma', decayMs: 2000 } });
  assert.deepEqual(loadBoardOptions(top.balancer), { decayMs: 2000, defaultRttMs: 10 });
  assert.deepEqual(loadBoardOptions(parseConfig({ endpoints: TWO }).balancer), {});
});

test('config error: unknown algorithm lists every algorithm', () => {
  refuses(() => parseConfig({ endpoints: TWO, balancer: { algorithm: 'consistent' } }), 'balancer.algorithm', '"consistent"', ALGORITHMS.join(', '));
});

test('config error: a balancer without an algorithm', () => {
  refuses(() => parseConfig({ endpoints: TWO, balancer: { boundedLoad: 1.25 } }), 'balancer.algorithm', 'missing', 'ring-hash');
});

test('config error: bounded-load factor at or below 1', () => {
  refuses(() => parseConfig(ringHash({ boundedLoad: 1 })), 'balancer.boundedLoad', 'is 1', 'above 1');
  refuses(() => parseConfig(ringHash({ boundedLoad: 0.5 })), 'balancer.boundedLoad', 'is 0.5');
});

test('config error: bounded-load factor that is not a number', () => {
  refuses(() => parseConfig(ringHash({ boundedLoad: 'lots' })), 'balancer.boundedLoad', '"lots"', 'a number');
});

test('config error: an option of another algorithm names the algorithm and its options', () => {
  refuses(() => parseConfig(ringHash({ tableSize: 65537 })), 'balancer.tableSize', 'unknown key', 'ring-hash has no such option (maglev has it)', 'minRingSize');
  refuses(() => parseConfig({ endpoints: TWO, balancer: { algorithm: 'p2c', boundedLoad: 1.25 } }), 'balancer.boundedLoad', 'p2c has no such option', 'ring-hash, maglev');
});

test('config error: a misspelt field is refused by name at every level, with the nearest valid name', () => {
  refuses(() => parseConfig({ endpoints: TWO, lissten: '0.0.0.0:80' }), 'lissten', 'unknown key; did you mean listen?');
  // Not "algorithm is missing": the misspelling is what the user has to fix.
  refuses(() => parseConfig({ endpoints: TWO, balancer: { algoritm: 'maglev' } }), 'balancer.algoritm', 'unknown key; did you mean balancer.algorithm?');
  refuses(() => parseConfig({ endpoints: [{ name: 'a', adress: '127.0.0.1:1' }] }), 'endpoints[0].adress', 'did you mean endpoints[0].address?');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { outlier: { intervalMS: 5 } } }), 'proxy.outlier.intervalMS', 'did you mean proxy.outlier.intervalMs?');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { healthCheck: { paht: '/' } } }), 'proxy.healthCheck.paht', 'did you mean proxy.healthCheck.path?');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { retries: { retrys: 2 } } }), 'proxy.retries.retrys', 'did you mean proxy.retries.retries?');
  refuses(() => parseConfig({ endpoints: TWO, zonee: 'a' }), 'zonee', 'did you mean zone?');
  // Nothing near: the known names instead.
  refuses(() => parseConfig({ endpoints: TWO, colour: 'blue' }), 'colour', 'no such setting', 'listen, admin');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { timeouts: { connectTimeout: 5 } } }), 'proxy.timeouts.connectTimeout', 'connectMs');
});

test('config error: bad listen address', () => {
  refuses(() => parseConfig({ endpoints: TWO, listen: '127.0.0.1' }), 'listen', '"127.0.0.1"', 'port is missing');
  refuses(() => parseConfig({ endpoints: TWO, listen: '127.0.0.1:70000' }), 'listen', '70000');
  refuses(() => parseConfig({ endpoints: TWO, listen: '::1:80' }), 'listen', 'brackets');
  assert.deepEqual(parseConfig({ endpoints: TWO, listen: '[::1]:0' }).listen, { host: '::1', port: 0 });
});

test('config error: bad endpoint address', () => {
  const eps = [TWO[0], { name: 'pod-1', address: 'localhost' }];
  refuses(() => parseConfig({ endpoints: eps }), 'endpoints[1].address', '"localhost"', 'host:port');
  refuses(() => parseConfig({ endpoints: [{ name: 'a', address: 'ftp://x:1' }] }), 'endpoints[0].address', 'ftp', 'h2c://');
});

test('config error: duplicate endpoint names', () => {
  const eps = [...TWO, { name: 'pod-0', address: '127.0.0.1:9002' }];
  refuses(() => parseConfig({ endpoints: eps }), 'endpoints[2].name', '"pod-0"', 'twice');
});

test('config error: endpoint weight out of range', () => {
  refuses(() => parseConfig({ endpoints: [{ name: 'a', address: '10.0.0.1:80', weight: 0 }] }), 'endpoints[0].weight', 'is 0', 'at least 1');
});

test('config error: endpoints missing, empty, or given twice', () => {
  refuses(() => parseConfig({}), 'endpoints', 'missing', '--endpoints');
  refuses(() => parseConfig({ endpoints: [] }), 'endpoints', 'empty');
  refuses(() => parseConfig({ endpoints: TWO, endpointsFile: 'eps.yaml' }), 'endpointsFile', 'use one of');
});

test('config error: bad key source', () => {
  refuses(() => parseConfig({ ...ringHash(), key: 'hdr:x-affinity' }), 'key', '"hdr:x-affinity"', 'header:NAME');
  refuses(() => parseConfig({ ...ringHash(), key: 'path:x' }), 'key', '"path:x"', 'index');
});

test('config error: keyed algorithm without a key, keyless algorithm with one', () => {
  refuses(() => parseConfig({ endpoints: TWO, balancer: { algorithm: 'maglev' } }), 'key', 'missing', 'maglev routes by key');
  refuses(() => parseConfig({ endpoints: TWO, key: 'header:x' }), 'key', 'p2c does not route by key');
});

test('config error: overlapping ranges', () => {
  const ranges = [
    { from: 0, to: 999, endpoint: 'pod-0' },
    { from: 500, to: 1999, endpoint: 'pod-1' },
  ];
  refuses(() => parseConfig(ringHash({ algorithm: 'ranges', ranges })), 'balancer.ranges[1]', '500-1999', 'overlaps 0-999');
});

test('config error: a range owned by an endpoint not in the list', () => {
  const ranges = [{ from: 0, to: 9, endpoint: 'pod-7' }];
  refuses(() => parseConfig(ringHash({ algorithm: 'ranges', ranges })), 'balancer.ranges[0].endpoint', '"pod-7"', 'pod-0, pod-1');
});

test('config error: ranges missing or empty', () => {
  refuses(() => parseConfig(ringHash({ algorithm: 'ranges' })), 'balancer.ranges', 'missing', 'a list');
  refuses(() => parseConfig(ringHash({ algorithm: 'ranges', ranges: [] })), 'balancer.ranges', 'empty');
});

test('config: a lookup table, its default and onMissing', () => {
  const entries = [{ key: 'tenant-42', endpoint: 'pod-0' }, { prefix: 'eu-', endpoint: 'pod-1' }];
  const c = parseConfig(ringHash({ algorithm: 'lookup', entries, default: 'maglev', onMissing: 'next' }));
  assert.deepEqual(c.balancer, { algorithm: 'lookup', loadFactor: null, keyless: { algorithm: 'p2c' }, entries, default: 'maglev', onMissing: 'next' });
  const plain = parseConfig(ringHash({ algorithm: 'lookup', entries }));
  assert.ok(plain.balancer.algorithm === 'lookup');
  assert.equal(plain.balancer.default, 'fail');
  assert.equal(plain.balancer.onMissing, 'fail');
});

test('config error: lookup entries', () => {
  const lookup = (entries: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ringHash({ algorithm: 'lookup', entries, ...extra });
  refuses(() => parseConfig(lookup([])), 'balancer.entries', 'empty');
  refuses(() => parseConfig(ringHash({ algorithm: 'lookup' })), 'balancer.entries', 'missing', 'a list');
  refuses(() => parseConfig(lookup([{ key: 'a', prefix: 'b', endpoint: 'pod-0' }])), 'balancer.entries[0]', 'both key and prefix');
  refuses(() => parseConfig(lookup([{ key: 'a', endpoint: 'pod-0' }, { endpoint: 'pod-1' }])), 'balancer.entries[1]', 'neither key nor prefix');
  refuses(() => parseConfig(lookup([{ key: 'a', endpoint: 'pod-0' }, { key: 'a', endpoint: 'pod-1' }])), 'balancer.entries[1].key', '"a"', 'balancer.entries[0]');
  refuses(() => parseConfig(lookup([{ key: 42, endpoint: 'pod-0' }])), 'balancer.entries[0].key', 'is 42', 'a string');
  refuses(() => parseConfig(lookup([{ prefix: 'eu-', endpoint: 'pod-7' }])), 'balancer.entries[0].endpoint', '"pod-7"', 'pod-0, pod-1');
  refuses(() => parseConfig(lookup([{ key: 'a', endpoint: 'pod-0' }], { default: 'ordinal' })), 'balancer.default', '"ordinal"', 'fail, ring-hash, maglev, rendezvous, jump');
  refuses(() => parseConfig(lookup([{ key: 'a', endpoint: 'pod-0', owner: 'x' }])), 'balancer.entries[0].owner', 'key, prefix, endpoint');
});

test('config: key transforms, and their refusals', () => {
  assert.equal(parseConfig({ ...ringHash(), keyTransform: 'delimited:-:0' }).keyTransform, 'delimited:-:0');
  assert.equal(parseConfig({ ...ringHash(), keyTransform: null }).keyTransform, null);
  const e = refuses(() => parseConfig({ ...ringHash(), keyTransform: 'prefix:0' }), 'keyTransform', '"prefix:0"', 'prefix:N, delimited:SEP:INDEX or s2:LEVEL');
  assert.equal(e.code, 'SG_ERR_KEY_TRANSFORM');
  refuses(() => parseConfig({ ...ringHash(), keyTransform: 's2:31' }), 'keyTransform', '"s2:31"', '0 to 30');
  const unkeyed = refuses(() => parseConfig({ endpoints: TWO, keyTransform: 'prefix:4' }), 'keyTransform', '"prefix:4"', 'no key is read');
  assert.equal(unkeyed.code, 'SG_ERR_KEY_TRANSFORM');
});

test('config: json keys and the body buffer', () => {
  const c = parseConfig({ ...ringHash(), key: 'json:account.id', proxy: { maxBodyBuffer: 262_144 } });
  assert.equal(c.key, 'json:account.id');
  assert.equal(c.proxy.maxBodyBuffer, 262_144);
  refuses(() => parseConfig({ ...ringHash(), key: 'json:a..b' }), 'key', '"json:a..b"', 'empty parts');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { maxBodyBuffer: 100 } }), 'proxy.maxBodyBuffer', 'is 100', '1024');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { maxBodyBuffer: 1_048_576 } }), 'proxy.maxBodyBuffer', 'is 1048576', '524288');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { maxBodyBuffer: 1.5 } }), 'proxy.maxBodyBuffer', '1.5', 'an integer');
});

test('config error: maglev table size that is not prime', () => {
  refuses(() => parseConfig(ringHash({ algorithm: 'maglev', tableSize: 65536 })), 'balancer.tableSize', '65536', 'prime');
});

test('config error: ring sizes out of order', () => {
  refuses(() => parseConfig(ringHash({ minRingSize: 2048, maxRingSize: 1024 })), 'balancer.minRingSize', '2048', '1024');
});

test('config error: ordinal replicas and onMissing', () => {
  const ordinal = (extra: Record<string, unknown>): Record<string, unknown> => ringHash({ algorithm: 'ordinal', ...extra });
  refuses(() => parseConfig(ordinal({ replicas: 0 })), 'balancer.replicas', 'is 0');
  refuses(() => parseConfig(ordinal({ replicas: 2.5 })), 'balancer.replicas', '2.5', 'an integer');
  refuses(() => parseConfig(ordinal({ onMissing: 'skip' })), 'balancer.onMissing', '"skip"', 'fail, next');
  const c = parseConfig(ordinal({ replicas: 4, onMissing: 'next' }));
  assert.deepEqual(c.balancer, { algorithm: 'ordinal', loadFactor: null, keyless: { algorithm: 'p2c' }, replicas: 4, onMissing: 'next' });
});

test('config error: peak-ewma options without peak-ewma', () => {
  refuses(() => parseConfig(ringHash({ decayMs: 5000 })), 'balancer.decayMs', 'is 5000', 'balancer.keyless to peak-ewma');
});

test('config error: keyless fallback that is keyed', () => {
  refuses(() => parseConfig(ringHash({ keyless: 'maglev' })), 'balancer.keyless', '"maglev"', 'p2c');
});

test('config error: timeouts and header size', () => {
  refuses(() => parseConfig({ endpoints: TWO, proxy: { timeouts: { connectMs: 0 } } }), 'proxy.timeouts.connectMs', 'is 0', 'at least 1');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { timeouts: { clientIdleMs: 1.5 } } }), 'proxy.timeouts.clientIdleMs', '1.5', 'an integer');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { maxHeaderBytes: 100 } }), 'proxy.maxHeaderBytes', 'is 100', '1024');
  refuses(() => parseConfig({ endpoints: TWO, proxy: { endpointHeader: 'yes' } }), 'proxy.endpointHeader', '"yes"', 'true or false');
  assert.equal(parseConfig({ endpoints: TWO, proxy: { timeouts: { clientIdleMs: 0 } } }).proxy.timeouts.clientIdleMs, 0);
});

test('config error: log level', () => {
  refuses(() => parseConfig({ endpoints: TWO, logLevel: 'loud' }), 'logLevel', '"loud"', 'info');
});

test('config error: a document that is not a mapping', () => {
  assert.throws(() => parseConfig(['a']), (e: unknown) => e instanceof ConfigError && /holds \["a"\]/.test(e.message));
});

test('config error: names the flag when a flag set the value', () => {
  const flags = new Map([['balancer.boundedLoad', '--bounded-load'], ['endpoints', '--endpoints']]);
  const e = refuses(() => parseConfig(ringHash({ boundedLoad: 0.9 }), { flags }), 'balancer.boundedLoad', '--bounded-load', 'is 0.9');
  assert.match(e.message, /^--bounded-load \(balancer\.boundedLoad\): /);
  const dup = refuses(() => parseConfig({ endpoints: [TWO[0], TWO[0]] }, { flags }), 'endpoints[1].name');
  assert.match(dup.message, /^--endpoints \(endpoints\[1\]\.name\): /);
});

test('config error: names the file when the file set the value', () => {
  const e = refuses(() => parseConfig(ringHash({ boundedLoad: 0.9 }), { file: 'shardgate.yaml' }), 'balancer.boundedLoad');
  assert.match(e.message, /^shardgate\.yaml: balancer\.boundedLoad: is 0\.9/);
});

test('mergeLayers: mappings merge, lists and values are replaced', () => {
  const merged = mergeLayers({ a: { b: 1, c: 2 }, list: [1, 2], v: 1 }, { a: { c: 3 }, list: [9], v: undefined });
  assert.deepEqual(merged, { a: { b: 1, c: 3 }, list: [9], v: 1 });
});

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const FILE = `
listen: 127.0.0.1:7000
key: header:x-affinity
balancer:
  algorithm: ring-hash
  boundedLoad: 1.5
  minRingSize: 512
endpoints:
  - { name: pod-0, address: 127.0.0.1:9000 }
proxy:
  timeouts:
    connectMs: 700
logLevel: debug
`;

test('loadConfig: reads YAML, and flags override the file field by field', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'shardgate.yaml');
  await writeFile(file, FILE);
  const fromFile = await loadConfig({ configFile: file });
  assert.deepEqual(fromFile.listen, { host: '127.0.0.1', port: 7000 });
  assert.equal(fromFile.logLevel, 'debug');

  const flags: FlagLayer = {
    values: { listen: '127.0.0.1:0', balancer: { boundedLoad: 1.25 }, proxy: { timeouts: { upstreamHeadersMs: 900 } } },
    flags: new Map([['listen', '--listen'], ['balancer.boundedLoad', '--bounded-load'], ['proxy.timeouts.upstreamHeadersMs', '--upstream-headers-timeout-ms']]),
  };
  const c = await loadConfig({ configFile: file, flags });
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 0 });
  assert.ok(c.balancer.algorithm === 'ring-hash');
  assert.equal(c.balancer.loadFactor, 1.25);
  assert.equal(c.balancer.minRingSize, 512, 'the file still supplies what no flag set');
  assert.equal(c.proxy.timeouts.connectMs, 700);
  assert.equal(c.proxy.timeouts.upstreamHeadersMs, 900);
  assert.equal(c.logLevel, 'debug');
});

test("loadConfig: an endpoints flag replaces the file's endpoints; a file's endpointsFile is relative to it", async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'shardgate.yaml');
  await writeFile(file, 'endpointsFile: eps.yaml\n');
  const c = await loadConfig({ configFile: file, cwd: '/' });
  assert.deepEqual(c.endpoints, { kind: 'file', path: join(dir, 'eps.yaml') });

  const flags: FlagLayer = { values: { endpoints: TWO }, flags: new Map([['endpoints', '--endpoints']]) };
  const over = await loadConfig({ configFile: file, flags });
  assert.equal(over.endpoints.kind, 'inline');
});

test('loadConfig: a bad value in the file names the file and the field, even when a flag made it bad', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'shardgate.yaml');
  await writeFile(file, FILE.replace('boundedLoad: 1.5', 'boundedLoad: 0.8'));
  await assert.rejects(loadConfig({ configFile: file }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.field, 'balancer.boundedLoad');
    assert.ok(e.message.startsWith(`${file}: balancer.boundedLoad: is 0.8`), e.message);
    return true;
  });
  const flags: FlagLayer = { values: { balancer: { algorithm: 'maglev' } }, flags: new Map([['balancer.algorithm', '--balancer']]) };
  await assert.rejects(loadConfig({ configFile: file, flags }), (e: unknown) => {
    // The file's ring-hash option no longer fits the algorithm the flag chose: the file is at fault.
    assert.ok(e instanceof ConfigError);
    assert.equal(e.field, 'balancer.minRingSize');
    assert.ok(e.message.startsWith(`${file}: balancer.minRingSize: unknown key: maglev has no such option (ring-hash has it)`), e.message);
    return true;
  });
});

test('loadConfig: YAML syntax errors name the file, line and column', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'broken.yaml');
  await writeFile(file, 'listen: 127.0.0.1:80\nbalancer:\n  algorithm: [ring-hash\n');
  await assert.rejects(loadConfig({ configFile: file }), (e: unknown) => e instanceof ConfigError && e.field.startsWith(`${file}:`) && /:\d+:\d+$/.test(e.field));
  await writeFile(file, 'listen: 127.0.0.1:80\nlisten: 127.0.0.1:81\n');
  await assert.rejects(loadConfig({ configFile: file }), (e: unknown) => e instanceof ConfigError && /unique/.test(e.message) && e.field === `${file}:2:1`);
});

test('loadConfig: a missing or non-mapping config file', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(loadConfig({ configFile: join(dir, 'absent.yaml') }), (e: unknown) => e instanceof ConfigError && /ENOENT/.test(e.message));
  const list = join(dir, 'list.yaml');
  await writeFile(list, '- a\n- b\n');
  await assert.rejects(loadConfig({ configFile: list }), (e: unknown) => e instanceof ConfigError && e.field === list && /mapping/.test(e.message));
});

test('config: zone and subsets are off by default', () => {
  const c = parseConfig({ endpoints: TWO });
  assert.equal(c.zone, null);
  assert.equal(c.zoneMinEndpoints, 1);
  assert.equal(c.subsets, null);
});

test('config: zone, its minimum, and subsets with their defaults filled in', () => {
  const c = parseConfig({ endpoints: TWO, zone: 'eu-west-1a', zoneMinEndpoints: 2, subsets: { selectors: [{ header: 'X-Version', label: 'version' }] } });
  assert.equal(c.zone, 'eu-west-1a');
  assert.equal(c.zoneMinEndpoints, 2);
  assert.deepEqual(c.subsets, { selectors: [{ header: 'x-version', label: 'version' }], fallback: 'any', defaultSubset: null, maxSubsets: 64 });
  const d = parseConfig({ endpoints: TWO, zone: 'auto', subsets: { selectors: [{ header: 'x-v', label: 'version' }], fallback: 'default', default: { version: 'v1' }, maxSubsets: 8 } });
  assert.equal(d.zone, 'auto', 'resolved to a name before the data plane is built, not here');
  assert.deepEqual(d.subsets?.defaultSubset, { version: 'v1' });
  assert.equal(d.subsets?.maxSubsets, 8);
});

test('config: bad zone and subset settings name the field and the fix', () => {
  refuses(() => parseConfig({ endpoints: TWO, zone: '' }), 'zone', 'must not be empty');
  refuses(() => parseConfig({ endpoints: TWO, zoneMinEndpoints: 3 }), 'zoneMinEndpoints', 'is 3', 'no zone is set', '--zone');
  refuses(() => parseConfig({ endpoints: TWO, zone: 'a', zoneMinEndpoints: 0 }), 'zoneMinEndpoints', 'is 0');
  refuses(() => parseConfig({ endpoints: TWO, subsets: {} }), 'subsets.selectors', 'is missing', '--subset x-version=version');
  refuses(() => parseConfig({ endpoints: TWO, subsets: { selectors: [{ header: 'x-v', label: 'version' }], fallback: 'default' } }), 'subsets.default', 'is missing', 'version: v1');
  refuses(() => parseConfig({ endpoints: TWO, subsets: { selectors: [{ header: 'x-v', label: 'version' }], fallback: 'never' } }), 'subsets.fallback', '"never"', 'any, fail, default');
  refuses(() => parseConfig({ endpoints: TWO, subsets: { selectors: [{ header: 'x-v', label: 'a' }, { header: 'x-v', label: 'b' }] } }), 'subsets.selectors[1].header', 'each header selects one label');
  refuses(() => parseConfig({ endpoints: TWO, subsets: { selectors: [{ header: 'x-v', label: 'a', weight: 2 }] } }), 'subsets.selectors[0].weight', 'no such setting');
  const e = refuses(() => parseConfig({ endpoints: TWO, subsets: { selectors: [{ header: 'x v', label: 'a' }] } }, { file: 'shardgate.yaml' }), 'subsets.selectors[0].header', 'request header name');
  assert.ok(e.message.startsWith('shardgate.yaml: subsets.selectors[0].header:'), e.message);
});

test('config: podLabels go with k8s discovery, and are refused without it', () => {
  const k8s = parseConfig({ discovery: 'k8s:default/web:http', podLabels: ['version', 'tier'] });
  assert.deepEqual(k8s.endpoints.kind === 'k8s' ? k8s.endpoints.podLabels : null, ['version', 'tier']);
  const none = parseConfig({ discovery: 'k8s:default/web:http' });
  assert.deepEqual(none.endpoints.kind === 'k8s' ? none.endpoints.podLabels : null, []);
  refuses(() => parseConfig({ endpoints: TWO, podLabels: ['version'] }), 'podLabels', '"version"', 'k8s:NAMESPACE/SERVICE', 'labels:');
  refuses(() => parseConfig({ discovery: 'dns:web.default.svc:80', podLabels: ['version'] }), 'podLabels', 'k8s:NAMESPACE/SERVICE');
  refuses(() => parseConfig({ discovery: 'k8s:default/web', podLabels: [] }), 'podLabels');
  refuses(() => parseConfig({ discovery: 'k8s:default/web', podLabels: ['version', ''] }), 'podLabels[1]');
});

test('config: the access log is off unless a destination or enabled is given; a destination path resolves against the config file; a rate outside 0..1 is refused', () => {
  assert.deepEqual(parseConfig({ endpoints: TWO }).accessLog, { destination: 'stdout', enabled: false, sampleRate: 1 });
  assert.deepEqual(parseConfig({ endpoints: TWO, accessLog: { destination: 'stdout', sampleRate: 0.25 } }).accessLog, { destination: 'stdout', enabled: true, sampleRate: 0.25 });
  assert.deepEqual(parseConfig({ endpoints: TWO, accessLog: { destination: 'logs/access.log' } }, {}, '/etc/shardgate').accessLog, { destination: '/etc/shardgate/logs/access.log', enabled: true, sampleRate: 1 });
  assert.equal(parseConfig({ endpoints: TWO, accessLog: { enabled: true } }).accessLog.destination, 'stdout');
  refuses(() => parseConfig({ endpoints: TWO, accessLog: { sampleRate: 2 } }), 'accessLog.sampleRate', '2');
  refuses(() => parseConfig({ endpoints: TWO, accessLog: { rate: 1 } }), 'accessLog.rate', 'sampleRate');
});
