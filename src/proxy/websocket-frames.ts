/**
 * Follows the RFC 6455 frame boundaries of one direction of a WebSocket tunnel, only to learn
 * whether a Close frame (opcode 0x8, section 5.5.1) went through. The tunnel relays bytes, never
 * frames; this watch tells an orderly end (a closing handshake, then TCP FIN) from a peer that
 * went away mid-conversation (FIN with no Close frame: a crashed pod, which RFC 6455 section
 * 7.1.5 reports to the other end as 1006).
 *
 * Cost: a frame header (2 to 14 bytes, section 5.2) is read per frame; payloads are skipped by
 * length, never copied or unmasked. Headers split across chunks go through a 14-byte scratch.
 * Once a Close frame is seen, or the bytes are not WebSocket frames, it stops looking.
 */

/** Longest frame header: 2 bytes, 8 of extended length, 4 of mask key. */
const MAX_HEADER = 14;
const OPCODE_CLOSE = 0x8;

export class FrameWatch {
  /** A Close frame has started in this direction. */
  closeSeen = false;
  /** The bytes stopped looking like WebSocket frames (a length beyond 2^53): no longer watched. */
  lost = false;
  /** Payload bytes left in the current frame. */
  #skip = 0;
  readonly #scratch = Buffer.alloc(MAX_HEADER);
  #scratchLength = 0;

  /** True while the watch still wants bytes; a relay may stop calling `observe` after that. */
  get watching(): boolean {
    return !this.closeSeen && !this.lost;
  }

  observe(chunk: Buffer): void {
    let at = 0;
    const end = chunk.length;
    while (at < end && this.watching) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, end - at);
        this.#skip -= n;
        at += n;
        continue;
      }
      if (this.#scratchLength === 0) {
        // The common case: the whole header is inside this chunk.
        const size = headerSize(chunk, at, end);
        if (size > 0) {
          this.#frame(chunk, at);
          at += size;
          continue;
        }
      }
      // Part of a header: gather it in the scratch until it is whole.
      const scratch = this.#scratch;
      while (at < end && this.#scratchLength < MAX_HEADER) {
        scratch[this.#scratchLength++] = chunk[at++]!;
        if (headerSize(scratch, 0, this.#scratchLength) === this.#scratchLength) break;
      }
      const size = headerSize(scratch, 0, this.#scratchLength);
      if (size > 0 && size === this.#scratchLength) {
        this.#frame(scratch, 0);
        this.#scratchLength = 0;
      }
    }
  }

  /** Takes in the whole header at `buf[at]`. */
  #frame(buf: Buffer, at: number): void {
    if ((buf[at]! & 0x0f) === OPCODE_CLOSE) {
      this.closeSeen = true;
      return;
    }
    const length = payloadLength(buf, at);
    if (length < 0) this.lost = true;
    else this.#skip = length;
  }
}

/**
 * The size of the frame header at `buf[at]` if all of it lies before `end`, else 0. The size
 * follows from the first two bytes: the 7-bit length (126: 2 more bytes, 127: 8 more) and the
 * mask bit (4 more).
 */
function headerSize(buf: Buffer, at: number, end: number): number {
  if (end - at < 2) return 0;
  const b1 = buf[at + 1]!;
  const len7 = b1 & 0x7f;
  const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
  return end - at >= size ? size : 0;
}

/** The payload length of the whole header at `buf[at]`, or -1 beyond 2^53 (not a real frame). */
function payloadLength(buf: Buffer, at: number): number {
  const len7 = buf[at + 1]! & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return buf.readUInt16BE(at + 2);
  const high = buf.readUInt32BE(at + 2);
  // Section 5.2: the most significant bit must be 0; past 2^53 a double cannot count the bytes.
  if (high > 0x1fffff) return -1;
  return high * 0x1_0000_0000 + buf.readUInt32BE(at + 6);
}
