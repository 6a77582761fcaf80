import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nearestName } from '../../src/config/nearest-name.js';
import { documentSchema } from '../../src/config/schema.js';
import { unknownKeys } from '../../src/config/unknown-keys.js';

test('nearestName: a misspelling finds its name; another word finds none', () => {
  assert.equal(nearestName('algoritm', ['algorithm', 'boundedLoad']), 'algorithm');
  assert.equal(nearestName('boundedload', ['algorithm', 'boundedLoad']), 'boundedLoad', 'case does not count');
  assert.equal(nearestName('lsiten', ['listen', 'admin']), 'listen', 'a swap of neighbours is one edit');
  assert.equal(nearestName('colour', ['listen', 'admin', 'key']), null);
  assert.equal(nearestName('x', ['y']), 'y', 'one letter of one is near enough');
});

test('unknownKeys: every unknown key at every level, in document order, none for a valid document', () => {
  const doc = {
    lissten: 'x',
    balancer: { algoritm: 'maglev', tablesize: 7 },
    endpoints: [{ name: 'a', address: '127.0.0.1:1' }, { name: 'b', adress: 'x', labels: { anything: 'goes' } }],
    proxy: { timeouts: { conectMs: 1 }, outlier: { intervalMS: 1 }, healthCheck: { paht: '/' }, retries: { retrys: 1 }, queue: { maxx: 1 } },
    subsets: { selectors: [{ header: 'x', lable: 'v' }] },
  };
  const found = unknownKeys(documentSchema, doc).map((u) => `${u.path.join('/')}: ${u.detail}`);
  assert.deepEqual(found, [
    'lissten: unknown key; did you mean listen?',
    'balancer/algoritm: unknown key; did you mean balancer.algorithm?',
    'balancer/tablesize: unknown key; did you mean balancer.tableSize?',
    'endpoints/1/adress: unknown key; did you mean endpoints[1].address?',
    'proxy/timeouts/conectMs: unknown key; did you mean proxy.timeouts.connectMs?',
    'proxy/outlier/intervalMS: unknown key; did you mean proxy.outlier.intervalMs?',
    'proxy/healthCheck/paht: unknown key; did you mean proxy.healthCheck.path?',
    'proxy/retries/retrys: unknown key; did you mean proxy.retries.retries?',
    'proxy/queue/maxx: unknown key; did you mean proxy.queue.max?',
    'subsets/selectors/0/lable: unknown key; did you mean subsets.selectors[0].label?',
  ]);
  assert.deepEqual(unknownKeys(documentSchema, { balancer: { algorithm: 'maglev', tableSize: 7 }, proxy: { outlier: false, healthCheck: null } }), []);
});

test('unknownKeys: an option of another algorithm says whose it is', () => {
  const [u] = unknownKeys(documentSchema, { balancer: { algorithm: 'ring-hash', tableSize: 65537 } });
  assert.equal(u?.detail, 'unknown key: ring-hash has no such option (maglev has it); it takes: algorithm, boundedLoad, keyless, decayMs, defaultRttMs, minRingSize, maxRingSize');
});
