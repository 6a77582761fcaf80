import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FrameWatch } from '../../src/proxy/websocket-frames.js';
import { OPCODE, closePayload, encodeFrame } from '../helpers/websocket-codec.js';

/** Payloads full of 0x88, the first byte of a Close frame, to trip a watch that loses its place. */
const decoy = (n: number): Buffer => Buffer.alloc(n, 0x88);

test('frame watch: sees a Close frame, masked or not, and nothing before it', () => {
  for (const mask of [false, true]) {
    const watch = new FrameWatch();
    watch.observe(encodeFrame(OPCODE.text, decoy(10), mask));
    assert.equal(watch.closeSeen, false);
    watch.observe(encodeFrame(OPCODE.close, closePayload(1000, 'bye'), mask));
    assert.equal(watch.closeSeen, true);
    assert.equal(watch.watching, false);
  }
});

test('frame watch: skips payloads of every length encoding (7-bit, 16-bit, 64-bit)', () => {
  const watch = new FrameWatch();
  for (const n of [0, 125, 126, 65_535, 65_536, 200_000]) {
    watch.observe(encodeFrame(OPCODE.binary, decoy(n), true));
    assert.equal(watch.closeSeen, false, `after a ${n}-byte payload`);
  }
  watch.observe(encodeFrame(OPCODE.ping, decoy(4), true));
  watch.observe(encodeFrame(OPCODE.close, Buffer.alloc(0), true));
  assert.equal(watch.closeSeen, true);
});

test('frame watch: any slicing of the bytes gives the same answer, at the Close frame header', () => {
  const frame = fc.record({
    opcode: fc.constantFrom(OPCODE.text, OPCODE.binary, OPCODE.continuation, OPCODE.ping, OPCODE.pong),
    length: fc.oneof(fc.integer({ min: 0, max: 125 }), fc.integer({ min: 126, max: 70_000 })),
    mask: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 8 }), fc.boolean(), fc.array(fc.integer({ min: 1, max: 5_000 }), { minLength: 1, maxLength: 50 }), (frames, withClose, cuts) => {
      const parts = frames.map((f) => encodeFrame(f.opcode, decoy(f.length), f.mask));
      const closeAt = parts.reduce((sum, p) => sum + p.length, 0);
      if (withClose) parts.push(encodeFrame(OPCODE.close, closePayload(4000, 'x'), true), encodeFrame(OPCODE.text, decoy(3), true));
      const bytes = Buffer.concat(parts);
      const watch = new FrameWatch();
      let at = 0;
      let i = 0;
      while (at < bytes.length) {
        const end = Math.min(bytes.length, at + cuts[i++ % cuts.length]!);
        watch.observe(bytes.subarray(at, end));
        // The Close frame is known once its whole header (2 bytes and a 4-byte mask key) is in, never before.
        assert.equal(watch.closeSeen, withClose && end >= closeAt + 6, `after ${end} of ${bytes.length} bytes`);
        at = end;
      }
      assert.equal(watch.lost, false);
    }),
    { seed: 8441, numRuns: 300 },
  );
});

test('frame watch: a length beyond 2^53 is not a WebSocket frame: it stops watching', () => {
  const header = Buffer.from([0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  const watch = new FrameWatch();
  watch.observe(header);
  assert.equal(watch.lost, true);
  assert.equal(watch.watching, false);
  watch.observe(encodeFrame(OPCODE.close, Buffer.alloc(0), false));
  assert.equal(watch.closeSeen, false);
});
