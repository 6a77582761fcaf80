import assert from 'node:assert/strict';
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
