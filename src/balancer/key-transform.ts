/**
 * Key transforms: the key text is rewritten before it is hashed, so that keys which belong
 * together share an owner. The proxy, the client library and the lookup API all apply the same
 * transform through `applyKeyTransform` before `hashKey`, so they agree on owners (R7).
 *
 * - `prefix:N`: the first N characters (code points: a surrogate pair counts once and is never
 *   split). A shorter key is kept whole.
 * - `delimited:SEP:INDEX`: field INDEX (0-based) of the key split at every SEP;
 *   `delimited:-:0` turns `tenant42-user7` into `tenant42`. SEP is everything between the first
 *   and the last colon, so it may itself hold colons (`delimited:::1` splits at `:`).
 * - `s2:LEVEL`: the key is `lat,lng` in decimal degrees; the result is the token of the S2 cell
 *   at LEVEL (0..30) that holds the point (S2 geometry's hierarchical cells on the sphere: level 10
 *   cells are about 10 km across, level 30 about 1 cm), so nearby points share an owner. Computed
 *   by nodes2ts, a port of the reference S2 library; its tokens are checked against the C++
 *   library's in the tests. About 2 us per key.
 *
 * A key the transform cannot use (no field INDEX, an empty field, not a `lat,lng` pair, a latitude
 * beyond +-90 or a longitude beyond +-180) has no key: null, never an exception. The proxy then
 * treats the request as keyless.
 *
 * Pure and I/O-free; parsing a spec happens once, at startup.
 */
import { S2CellId, S2LatLng } from 'nodes2ts';
import { ConfigError } from '../errors.js';

export type KeyTransform =
  | { readonly kind: 'prefix'; readonly spec: string; readonly length: number }
  | { readonly kind: 'delimited'; readonly spec: string; readonly separator: string; readonly index: number }
  | { readonly kind: 's2'; readonly spec: string; readonly level: number };

export const KEY_TRANSFORM_FORMS = 'prefix:N, delimited:SEP:INDEX or s2:LEVEL';

/** The longest prefix a transform keeps: a longer one keeps whole keys in practice. */
export const MAX_PREFIX_LENGTH = 4_096;
/** The highest field index of `delimited:`. */
export const MAX_FIELD_INDEX = 999;
/** S2 cells go from level 0 (a cube face) to level 30 (about 1 cm). */
export const MAX_S2_LEVEL = 30;

const DIGITS = /^\d{1,9}$/;
/** A decimal number in degrees, as people write them: `52.52`, `-0.5`, `13`, `1.3e1`. */
const DEGREES = '[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?';
const LAT_LNG = new RegExp(`^[ \\t]*(${DEGREES})[ \\t]*,[ \\t]*(${DEGREES})[ \\t]*$`);

/**
 * Parses `prefix:N`, `delimited:SEP:INDEX` or `s2:LEVEL`.
 * @throws ConfigError SG_ERR_KEY_TRANSFORM naming `field`, the value and the allowed forms
 */
export function parseKeyTransform(spec: string, field = 'keyTransform'): KeyTransform {
  if (typeof spec !== 'string') {
    throw new ConfigError('SG_ERR_KEY_TRANSFORM', field, `is ${JSON.stringify(spec)}: write ${KEY_TRANSFORM_FORMS}`);
  }
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? '' : spec.slice(colon + 1);
  const shown = JSON.stringify(spec);
  switch (kind) {
    case 'prefix': {
      const n = DIGITS.test(arg) ? Number(arg) : 0;
      if (n < 1 || n > MAX_PREFIX_LENGTH) {
        throw new ConfigError('SG_ERR_KEY_TRANSFORM', field, `is ${shown}: prefix: needs the number of leading characters to keep, from 1 to ${MAX_PREFIX_LENGTH}, for example prefix:8; the forms are ${KEY_TRANSFORM_FORMS}`);
      }
      return Object.freeze({ kind, spec, length: n });
    }
    case 'delimited': {
      const last = arg.lastIndexOf(':');
      const separator = last < 0 ? '' : arg.slice(0, last);
      const index = last < 0 ? '' : arg.slice(last + 1);
      if (separator.length === 0 || !DIGITS.test(index) || Number(index) > MAX_FIELD_INDEX) {
        throw new ConfigError('SG_ERR_KEY_TRANSFORM', field, `is ${shown}: delimited: needs a separator and a 0-based field index up to ${MAX_FIELD_INDEX}, for example delimited:-:0 (tenant42-user7 -> tenant42); the forms are ${KEY_TRANSFORM_FORMS}`);
      }
      return Object.freeze({ kind, spec, separator, index: Number(index) });
    }
    case 's2': {
      const level = DIGITS.test(arg) ? Number(arg) : -1;
      if (level < 0 || level > MAX_S2_LEVEL) {
        throw new ConfigError('SG_ERR_KEY_TRANSFORM', field, `is ${shown}: s2: needs an S2 cell level from 0 to ${MAX_S2_LEVEL} (level 10 cells are about 10 km across, 13 about 1 km), for example s2:13; the forms are ${KEY_TRANSFORM_FORMS}`);
      }
      return Object.freeze({ kind, spec, level });
    }
    default:
      throw new ConfigError('SG_ERR_KEY_TRANSFORM', field, `is ${shown}: write ${KEY_TRANSFORM_FORMS}`);
  }
}

/** The key text after the transform, or null when the key does not fit it; `t` null keeps the text. Never throws. */
export function applyKeyTransform(t: KeyTransform | null, text: string): string | null {
  if (text.length === 0) return null;
  if (t === null) return text;
  switch (t.kind) {
    case 'prefix':
      return prefix(text, t.length);
    case 'delimited':
      return field(text, t.separator, t.index);
    case 's2':
      return s2Token(text, t.level);
  }
}

/** The first `n` code points of `text`. */
function prefix(text: string, n: number): string {
  let end = 0;
  for (let k = 0; k < n; k++) {
    if (end >= text.length) return text;
    const c = text.charCodeAt(end);
    const pair = c >= 0xd800 && c < 0xdc00 && end + 1 < text.length && (text.charCodeAt(end + 1) & 0xfc00) === 0xdc00;
    end += pair ? 2 : 1;
  }
  return end >= text.length ? text : text.slice(0, end);
}

/** Field `index` of `text` split at `separator`, or null when there is no such field or it is empty. */
function field(text: string, separator: string, index: number): string | null {
  let start = 0;
  for (let k = 0; k < index; k++) {
    const at = text.indexOf(separator, start);
    if (at < 0) return null;
    start = at + separator.length;
  }
  let end = text.indexOf(separator, start);
  if (end < 0) end = text.length;
  return end === start ? null : text.slice(start, end);
}

/** The token of the level-`level` S2 cell holding the point `lat,lng`, or null when the text is not one. */
function s2Token(text: string, level: number): string | null {
  const m = LAT_LNG.exec(text);
  if (m === null) return null;
  const lat = Number(m[1]);
  const lng = Number(m[2]);
  if (!(Math.abs(lat) <= 90 && Math.abs(lng) <= 180)) return null;
  return S2CellId.fromPoint(S2LatLng.fromDegrees(lat, lng).toPoint()).parentL(level).toToken();
}
