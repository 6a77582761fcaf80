import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { DiscoveryError } from '../../src/discovery/endpoint-source.js';
import { StaticFileSource } from '../../src/discovery/static-file.js';
import type { StaticFileSourceOptions } from '../../src/discovery/static-file.js';
import { ConfigError } from '../../src/errors.js';
import { names, Recorder } from './recorder.js';

const TWO = '- {name: pod-0, address: "127.0.0.1:9000"}\n- {name: pod-1, address: "127.0.0.1:9001"}\n';
const THREE = TWO + '- {name: pod-2, address: "127.0.0.1:9002"}\n';

interface Fixture {
  readonly dir: string;
  readonly file: string;
  /** Replaces the file the way editors and ConfigMap updates do: a new file renamed over it. */
  save(text: string): Promise<void>;
  source(options?: StaticFileSourceOptions): StaticFileSource;
  watch(source: StaticFileSource): Recorder;
}

let saves = 0;

async function fixture(t: TestContext, initial: string | null): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-discovery-'));
  const file = join(dir, 'endpoints.yaml');
  const recorders: Recorder[] = [];
  t.after(async () => {
    for (const r of recorders) r.unsubscribe();
    await rm(dir, { recursive: true, force: true });
  });
  if (initial !== null) await writeFile(file, initial);
  return {
    dir,
    file,
    async save(text) {
      const tmp = join(dir, `.endpoints.yaml.${++saves}.tmp`);
      await writeFile(tmp, text);
      await rename(tmp, file);
    },
    // No poll unless a test asks for one: changes must come from the watch or refresh().
    source: (options = {}) => new StaticFileSource(file, { debounceMs: 10, pollMs: 600_000, ...options }),
    watch(source) {
      const r = new Recorder().subscribe(source);
      recorders.push(r);
      return r;
    },
  };
}

test('static file: the first set arrives after subscribe() returns, never inside it', async (t) => {
  const f = await fixture(t, TWO);
  const source = f.source();
  await source.load();
  let returned = false;
  let earlyCall = false;
  const first = new Promise<void>((resolve) => {
    const off = source.subscribe(
      () => {
        earlyCall = !returned;
        resolve();
      },
      () => undefined,
    );
    returned = true;
    t.after(off);
  });
  await first;
  assert.equal(earlyCall, false);
});

test('static file: initial set, then a saved change is picked up by the watch and swapped whole', async (t) => {
  const f = await fixture(t, TWO);
  const r = f.watch(f.source());
  const first = await r.at(0);
  assert.equal(first.kind, 'set');
  assert.ok(first.kind === 'set');
  assert.deepEqual(names(first.set), ['pod-0', 'pod-1']);
  assert.ok(Object.isFrozen(first.set));

  await f.save(THREE);
  const second = await r.at(1);
  assert.ok(second.kind === 'set', `expected a set, got ${JSON.stringify(second)}`);
  assert.deepEqual(names(second.set), ['pod-0', 'pod-1', 'pod-2']);
  assert.equal(second.set.version, first.set.version + 1);
  assert.deepEqual(names(first.set), ['pod-0', 'pod-1'], 'the old snapshot is untouched');
});

test('static file: a change written in place is picked up too', async (t) => {
  const f = await fixture(t, TWO);
  const r = f.watch(f.source());
  await r.at(0);
  await writeFile(f.file, THREE);
  // writeFile truncates, then writes: a read that lands between the two sees an empty file and
  // reports it (keeping the old set), so the new set may come one event later.
  let d = await r.at(1);
  for (let i = 2; d.kind !== 'set' && i < 5; i++) d = await r.at(i);
  assert.ok(d.kind === 'set', `expected a set, got ${JSON.stringify(d)}`);
  assert.equal(d.set.endpoints.length, 3);
});

test('static file: a Kubernetes ConfigMap update (a swap of the ..data symlink) is picked up by the watch', async (t) => {
  const f = await fixture(t, null);
  // The layout the kubelet writes: file -> ..data/file, ..data -> ..<timestamp>/.
  await mkdir(join(f.dir, '..v1'));
  await writeFile(join(f.dir, '..v1', 'endpoints.yaml'), TWO);
  await symlink('..v1', join(f.dir, '..data'));
  await symlink(join('..data', 'endpoints.yaml'), f.file);
  const r = f.watch(f.source());
  await r.at(0);

  await mkdir(join(f.dir, '..v2'));
  await writeFile(join(f.dir, '..v2', 'endpoints.yaml'), THREE);
  await symlink('..v2', join(f.dir, '..data_tmp'));
  await rename(join(f.dir, '..data_tmp'), join(f.dir, '..data'));
  const d = await r.at(1);
  assert.ok(d.kind === 'set');
  assert.deepEqual(names(d.set), ['pod-0', 'pod-1', 'pod-2']);
});

test('static file: a broken file is reported naming file, field and value, and the old set keeps serving', async (t) => {
  const f = await fixture(t, TWO);
  const source = f.source();
  const r = f.watch(source);
  await r.at(0);

  await f.save(TWO + '- {name: pod-2, address: "not-an-address"}\n');
  await source.refresh();
  const d = await r.at(1);
  assert.ok(d.kind === 'error', `expected an error, got ${d.kind}`);
  assert.ok(d.error instanceof DiscoveryError);
  assert.equal(d.error.source, f.file);
  assert.equal(d.error.field, 'endpoints[2].address');
  assert.ok(d.error.message.startsWith(`${f.file}: endpoints[2].address: is "not-an-address"`), d.error.message);
  assert.match(d.error.message, /still serving the previous set \(version 1, 2 endpoints\)/);
  assert.deepEqual(names(source.current!), ['pod-0', 'pod-1']);
  assert.equal(r.sets.length, 1, 'no set for a broken file');

  // The same broken content read again is not reported again.
  await source.refresh();
  assert.equal(r.errors.length, 1);

  await f.save(THREE);
  await source.refresh();
  const fixed = await r.at(r.errors.length + 1);
  assert.ok(fixed.kind === 'set');
  assert.equal(fixed.set.endpoints.length, 3);
});

test('static file: YAML that does not parse is reported with file, line and column', async (t) => {
  const f = await fixture(t, TWO);
  const source = f.source();
  const r = f.watch(source);
  await r.at(0);
  await f.save('- name: pod-0\n  address: [oops\n');
  await source.refresh();
  const d = await r.at(1);
  assert.ok(d.kind === 'error');
  assert.match(d.error.message, new RegExp(`^${f.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: is not valid YAML`));
});

test('static file: unchanged content, or a change of formatting only, publishes nothing', async (t) => {
  const f = await fixture(t, TWO);
  const source = f.source();
  const r = f.watch(source);
  await r.at(0);

  await f.save(TWO);
  await source.refresh();
  await f.save('# reordered, reformatted\nendpoints:\n  - name: pod-1\n    address: 127.0.0.1:9001\n  - name: pod-0\n    address: 127.0.0.1:9000\n');
  await source.refresh();
  assert.deepEqual(
    r.events.map((e) => e.kind),
    ['set'],
  );

  // What does change still gets through afterwards, as the next event.
  await f.save(THREE);
  await source.refresh();
  const d = await r.at(1);
  assert.ok(d.kind === 'set');
  assert.equal(d.set.version, 2);
});

test('static file: a deleted file is reported and the set kept; its return with new content is picked up', async (t) => {
  const f = await fixture(t, TWO);
  const source = f.source();
  const r = f.watch(source);
  await r.at(0);
  await unlink(f.file);
  await source.refresh();
  const d = await r.at(1);
  assert.ok(d.kind === 'error');
  assert.match(d.error.message, /cannot be read \(ENOENT\)/);
  assert.equal(source.current!.endpoints.length, 2);

  await f.save(THREE);
  await source.refresh();
  const back = await r.at(2);
  assert.ok(back.kind === 'set');
  assert.equal(back.set.endpoints.length, 3);
});

test('static file: where the directory cannot be watched, the poll picks changes up', async (t) => {
  const f = await fixture(t, TWO);
  const source = f.source({
    pollMs: 30,
    watchDirectory: () => {
      throw Object.assign(new Error('watch unsupported'), { code: 'ENOSYS' });
    },
  });
  const r = f.watch(source);
  const kinds = [(await r.at(0)).kind, (await r.at(1)).kind].sort();
  assert.deepEqual(kinds, ['error', 'set']);
  assert.match(r.errors[0]!.message, /cannot watch .* \(ENOSYS\); polling every 30 ms/);

  await f.save(THREE);
  const d = await r.at(2);
  assert.ok(d.kind === 'set');
  assert.equal(d.set.endpoints.length, 3);
});

test('static file: after unsubscribe nothing more is delivered', async (t) => {
  const f = await fixture(t, TWO);
  const source = f.source({ pollMs: 20 });
  const r = f.watch(source);
  await r.at(0);
  r.unsubscribe();
  await f.save(THREE);
  await source.refresh();
  // Longer than the debounce and several polls: any stray watch or timer would have fired.
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.equal(r.events.length, 1);
});

test('static file: every subscriber gets the current set, a late one at once', async (t) => {
  const f = await fixture(t, TWO);
  const source = f.source();
  const a = f.watch(source);
  await a.at(0);
  const b = f.watch(source);
  const d = await b.at(0);
  assert.ok(d.kind === 'set');
  assert.equal(d.set, a.sets[0], 'the same snapshot');
  await f.save(THREE);
  await source.refresh();
  assert.equal((await a.at(1)).kind, 'set');
  assert.equal((await b.at(1)).kind, 'set');
});

test('static file: load() fails the start with the file, field and value', async (t) => {
  const f = await fixture(t, '- {name: pod-0, address: "127.0.0.1:9000", weight: 0}\n');
  await assert.rejects(f.source().load(), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.field, 'endpoints[0].weight');
    assert.ok(e.message.startsWith(`${f.file}: endpoints[0].weight: is 0`), e.message);
    return true;
  });
  const missing = new StaticFileSource(join(f.dir, 'absent.yaml'));
  await assert.rejects(missing.load(), (e: unknown) => e instanceof ConfigError && /absent\.yaml: cannot be read \(ENOENT\)/.test(e.message));
});

test('static file: a file that is broken from the start reports, then serves once fixed', async (t) => {
  const f = await fixture(t, 'nonsense: true\n');
  const source = f.source();
  const r = f.watch(source);
  const d = await r.at(0);
  assert.ok(d.kind === 'error');
  assert.match(d.error.message, /nonsense/);
  assert.match(d.error.message, /no endpoints yet/);
  await f.save(TWO);
  await source.refresh();
  const s = await r.at(1);
  assert.ok(s.kind === 'set');
  assert.equal(s.set.version, 1);
});
