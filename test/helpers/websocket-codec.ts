/**
 * A minimal RFC 6455 frame encoder and decoder, for tests that speak WebSocket on something the
 * `ws` library cannot drive: an HTTP/2 stream (RFC 8441), or a raw socket held paused.
 * Whole messages only on the encoding side; the decoder reassembles fragmented ones.
 */
import { randomBytes } from 'node:crypto';

export const OPCODE = Object.freeze({ continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa });

export interface Frame {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly opcode: number;
  /** Unmasked. */
  readonly payload: Buffer;
}

/** One frame; `mask` for a client's frames (section 5.3), with a random key. */
export function encodeFrame(opcode: number, payload: Buffer, mask: boolean, fin = true): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const header = Buffer.alloc(2 + extended + (mask ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] = (mask ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(length, 2);
  else if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
  if (!mask) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  key.copy(header, 2 + extended);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([header, body]);
}

/** A Close frame's payload: the code and a UTF-8 reason (section 5.5.1). */
export function closePayload(code: number, reason: string): Buffer {
  const out = Buffer.alloc(2 + Buffer.byteLength(reason));
  out.writeUInt16BE(code, 0);
  out.write(reason, 2);
  return out;
}

export function parseClose(payload: Buffer): { code: number; reason: string } {
  return payload.length < 2 ? { code: 1005, reason: '' } : { code: payload.readUInt16BE(0), reason: payload.toString('utf8', 2) };
}

/** Collects frames from bytes that arrive in any slicing; a large frame is joined once, when whole. */
export class FrameDecoder {
  readonly frames: Frame[] = [];
  #pending: Buffer[] = [];
  #pendingLength = 0;
  /** Size of the frame at the front once its header is known, else 0. */
  #need = 0;

  push(chunk: Buffer): void {
    this.#pending.push(chunk);
    this.#pendingLength += chunk.length;
    for (;;) {
      const frame = this.#next();
      if (frame === null) return;
      this.frames.push(frame);
    }
  }

  #next(): Frame | null {
    if (this.#need === 0) {
      if (this.#pendingLength < 2) return null;
      if (this.#pending[0]!.length < 14 && this.#pending.length > 1) this.#pending = [Buffer.concat(this.#pending)];
      const size = frameSize(this.#pending[0]!);
      if (size === 0) return null;
      this.#need = size;
    }
    if (this.#pendingLength < this.#need) return null;
    const buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    const b1 = buf[1]!;
    const len7 = b1 & 0x7f;
    const keyAt = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
    const masked = (b1 & 0x80) !== 0;
    const at = keyAt + (masked ? 4 : 0);
    const end = this.#need;
    const payload = Buffer.from(buf.subarray(at, end));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= buf[keyAt + (i & 3)]!;
    const rest = buf.subarray(end);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#pendingLength = rest.length;
    this.#need = 0;
    return { fin: (buf[0]! & 0x80) !== 0, rsv1: (buf[0]! & 0x40) !== 0, opcode: buf[0]! & 0x0f, payload };
  }
}

/** Header plus payload size of the frame at the start of `buf`, or 0 if its header is not all there. */
function frameSize(buf: Buffer): number {
  if (buf.length < 2) return 0;
  const b1 = buf[1]!;
  const len7 = b1 & 0x7f;
  const mask = (b1 & 0x80) !== 0 ? 4 : 0;
  if (len7 < 126) return 2 + mask + len7;
  if (len7 === 126) return buf.length < 4 ? 0 : 4 + mask + buf.readUInt16BE(2);
  return buf.length < 10 ? 0 : 10 + mask + Number(buf.readBigUInt64BE(2));
}
