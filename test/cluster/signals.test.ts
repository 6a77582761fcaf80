import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { pino } from 'pino';
import { watchSignals } from '../../src/cluster/signals.js';

test('watchSignals: the first SIGTERM or SIGINT settles `first`; stop() takes every handler away again', async () => {
  const before = { term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') };
  const watch = watchSignals(pino({ level: 'silent' }));
  assert.equal(process.listenerCount('SIGTERM'), before.term + 1);
  // Emitted, not sent: the handlers run as for a real signal, and nothing else hears it.
  process.emit('SIGINT', 'SIGINT');
  assert.equal(await watch.first, 'SIGINT');
  // A second signal would now exit at once: that handler is in place until stop().
  assert.equal(process.listenerCount('SIGTERM'), before.term + 1);
  watch.stop();
  watch.stop();
  assert.deepEqual({ term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') }, before);
});

test('watchSignals: the watch holds a process that has nothing else to do until the signal comes', async (t) => {
  // Nothing else is open in the child: without the hold Node would end it at once (exit code 13).
  const script = `const { watchSignals } = await import(${JSON.stringify(new URL('../../src/cluster/signals.js', import.meta.url).href)});
const { pino } = await import('pino');
const watch = watchSignals(pino({ level: 'silent' }));
process.stdout.write('watching\\n');
const signal = await watch.first;
watch.stop();
process.stdout.write(signal + '\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  while (!out.includes('watching') && child.exitCode === null) {
    assert.ok(Date.now() < deadline, 'the child never started watching');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(child.exitCode, null, `the child ended while it waited for a signal; stdout: ${out}`);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.equal(out, 'watching\nSIGTERM\n');
});
