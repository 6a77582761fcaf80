/**
 * The field names nearly every message carries, as ready strings: a head of a dozen common fields
 * then allocates no string for its names. Matched on the exact bytes (names are handed on as sent,
 * so `Host` and `host` are two entries), through an open-addressing table built once: a hash of the
 * length and three bytes, then one byte comparison, cheaper than the substring it saves.
 */

const COMMON_NAMES: readonly string[] = [
  'Host', 'User-Agent', 'Accept', 'Accept-Language', 'Accept-Encoding', 'Accept-Ranges', 'Connection', 'Keep-Alive',
  'Content-Type', 'Content-Length', 'Content-Encoding', 'Transfer-Encoding', 'Cookie', 'Set-Cookie', 'Referer', 'Origin',
  'Authorization', 'Cache-Control', 'Pragma', 'Expect', 'Upgrade', 'TE', 'Trailer', 'Range', 'If-None-Match',
  'If-Modified-Since', 'Date', 'Server', 'ETag', 'Vary', 'Last-Modified', 'Expires', 'Location', 'Age',
  'Strict-Transport-Security', 'Access-Control-Allow-Origin', 'X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host',
  'Forwarded', 'X-Real-IP', 'X-Request-Id', 'Traceparent', 'Tracestate', 'Sec-Fetch-Mode', 'Sec-Fetch-Site',
  'Sec-Fetch-Dest', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version', 'Sec-WebSocket-Accept', 'DNT',
];

const SLOTS = 512;
const MASK = SLOTS - 1;

function hash(len: number, first: number, middle: number, last: number): number {
  return (len * 31 + first * 7 + middle * 13 + last) & MASK;
}

/** Index + 1 into NAMES per slot; 0 is an empty slot. */
const TABLE = new Uint16Array(SLOTS);
const NAMES: string[] = [];
const BYTES: Uint8Array[] = [];

for (const name of new Set([...COMMON_NAMES, ...COMMON_NAMES.map((n) => n.toLowerCase())])) {
  const bytes = Uint8Array.from(name, (c) => c.charCodeAt(0));
  let slot = hash(bytes.length, bytes[0]!, bytes[bytes.length >> 1]!, bytes[bytes.length - 1]!);
  while (TABLE[slot] !== 0) slot = (slot + 1) & MASK;
  NAMES.push(name);
  BYTES.push(bytes);
  TABLE[slot] = NAMES.length;
}

/** The interned string for the field name at buf[start, end), or undefined when it is not a common one. */
export function commonFieldName(buf: Uint8Array, start: number, end: number): string | undefined {
  const len = end - start;
  let slot = hash(len, buf[start]!, buf[start + (len >> 1)]!, buf[end - 1]!);
  for (;;) {
    const entry = TABLE[slot]!;
    if (entry === 0) return undefined;
    const bytes = BYTES[entry - 1]!;
    if (bytes.length === len) {
      let k = 0;
      while (k < len && buf[start + k] === bytes[k]) k++;
      if (k === len) return NAMES[entry - 1];
    }
    slot = (slot + 1) & MASK;
  }
}
