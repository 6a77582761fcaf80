import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { ConfigReloader } from '../../src/config/reloader.js';
import { ReloadEvents } from '../../src/config/reload-events.js';
import type { ReloadOutcome } from '../../src/config/reload-events.js';
import type { ReloadPlan } from '../../src/config/restart-only.js';
import { tempDir } from '../cli/run.js';
import { until } from '../helpers/until.js';

const BASE = 'workers: 1\nendpoints: [{name: pod-0, address: "127.0.0.1:9000"}]\n';

async function setup(t: Parameters<typeof tempDir>[0], apply: (plan: ReloadPlan) => Promise<void> = () => Promise.resolve()) {
  const dir = await tempDir(t);
  const file = join(dir, 'shardgate.yaml');
  await writeFile(file, `${BASE}balancer: {algorithm: p2c}\n`);
  const running = await loadConfig({ configFile: file });
  const events = new ReloadEvents();
  const outcomes: ReloadOutcome[] = [];
  events.on((o) => outcomes.push(o));
  const applied: ReloadPlan[] = [];
  const reloader = new ConfigReloader({
    file,
    running,
    load: () => loadConfig({ configFile: file }),
    apply: async (plan) => {
      await apply(plan);
      applied.push(plan);
    },
    events,
    logger: pino({ level: 'silent' }),
    debounceMs: 20,
  });
  t.after(() => reloader.close());
  /** Replaces the file whole, as an editor's save does. */
  const save = async (text: string): Promise<void> => {
    const tmp = join(dir, '.tmp.yaml');
    await writeFile(tmp, text);
    await rename(tmp, file);
  };
  const next = (): Promise<ReloadOutcome> => new Promise((resolve) => events.on(resolve));
  return { file, reloader, events, outcomes, applied, save, next };
}

test('reloader: a changed file is reloaded and applied; restart-only changes are named', async (t) => {
  const s = await setup(t);
  // The watch holds no process up (a proxy's listener does): hold it while the test waits.
  const hold = setInterval(() => undefined, 60_000);
  t.after(() => clearInterval(hold));
  await s.reloader.watch();
  const outcome = s.next();
  await s.save(`${BASE}balancer: {algorithm: round-robin}\nlisten: 127.0.0.1:9999\n`);
  const o = await outcome;
  assert.equal(o.ok, true, o.error ?? '');
  assert.equal(o.path, s.file);
  assert.deepEqual(o.restartNeeded, ['listen']);
  assert.equal(s.reloader.running.balancer.algorithm, 'round-robin');
  assert.equal(s.reloader.running.listen.port, 8080, 'the listen address keeps its running value');
  assert.equal(s.events.ok, 1);
});

test('reloader: a bad file is refused with the file and the reason; the failed count rises; the running configuration stays', async (t) => {
  const s = await setup(t);
  const o = await (async () => {
    await s.save(`${BASE}balancer: {algoritm: maglev}\n`);
    return s.reloader.reload('SIGHUP');
  })();
  assert.equal(o.ok, false);
  assert.match(o.error!, /shardgate\.yaml: balancer\.algoritm: unknown key; did you mean balancer\.algorithm\?/);
  assert.equal(s.events.failed, 1);
  assert.equal(s.applied.length, 0);
  assert.equal(s.reloader.running.balancer.algorithm, 'p2c');
  // Refused by apply (the data plane's own refusal): the same.
  const refusing = await setup(t, () => Promise.reject(new Error('endpoint pod-0: no')));
  const r = await refusing.reloader.reload('SIGHUP');
  assert.equal(r.ok, false);
  assert.equal(r.error, 'endpoint pod-0: no');
  assert.equal(refusing.events.failed, 1);
});

test('reloader: triggers during a reload fold into one more; SIGHUP reloads unchanged bytes', async (t) => {
  let gate: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (gate = resolve));
  let calls = 0;
  const s = await setup(t, async () => {
    if (calls++ === 0) await first;
  });
  const a = s.reloader.reload('SIGHUP');
  assert.equal(s.reloader.reload('SIGHUP'), a, 'a trigger before the reload starts is folded into it');
  await until('the first reload is applying', () => calls === 1);
  const b = s.reloader.reload('SIGHUP');
  const c = s.reloader.reload('SIGHUP');
  assert.notEqual(b, a, 'a trigger while one runs asks for one more');
  assert.equal(b, c, 'the waiting trigger is joined');
  gate();
  await Promise.all([a, b, c]);
  assert.equal(calls, 2, 'one reload under way, one more for what came meanwhile');
  assert.equal(s.events.ok, 2);
});
