/**
 * A header's value in undici dispatch options, whatever shape the caller gave them in: a record
 * (undici.request, and fetch, whose names keep the case they were set with), a flat
 * `[name, value, ...]` list, a list of pairs, or an iterable of pairs (Headers, Map). Names compare
 * without regard to case. On the request path: the record form, the common one, costs a property
 * read and, when the case differs, one pass over its names, allocating nothing.
 */

/** The first value of header `lowerName` (given in lower case), or undefined. */
export function headerValue(headers: unknown, lowerName: string): string | undefined {
  if (headers === null || headers === undefined || typeof headers !== 'object') return undefined;
  if (Array.isArray(headers)) return fromList(headers, lowerName);
  const record = headers as Record<string, unknown>;
  if (typeof (record as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') {
    return fromIterable(headers as Iterable<unknown>, lowerName);
  }
  const direct = record[lowerName];
  if (direct !== undefined) return text(direct);
  for (const name in record) {
    if (sameName(name, lowerName)) return text(record[name]);
  }
  return undefined;
}

function fromList(list: readonly unknown[], lowerName: string): string | undefined {
  if (list.length > 0 && Array.isArray(list[0])) return fromIterable(list, lowerName);
  for (let i = 0; i + 1 < list.length; i += 2) {
    if (sameName(list[i], lowerName)) return text(list[i + 1]);
  }
  return undefined;
}

/** Pairs: rare forms, where an iterator is what the caller chose. */
function fromIterable(pairs: Iterable<unknown>, lowerName: string): string | undefined {
  for (const pair of pairs) {
    if (Array.isArray(pair) && sameName(pair[0], lowerName)) return text(pair[1]);
  }
  return undefined;
}

function sameName(name: unknown, lowerName: string): boolean {
  const n = typeof name === 'string' ? name : Buffer.isBuffer(name) ? name.toString('latin1') : null;
  if (n === null || n.length !== lowerName.length) return false;
  for (let i = 0; i < n.length; i++) {
    let c = n.charCodeAt(i);
    // A-Z to a-z: field names are tokens, ASCII only.
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lowerName.charCodeAt(i)) return false;
  }
  return true;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.length === 0 ? undefined : text(value[0]);
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (typeof value === 'number') return String(value);
  return undefined;
}
