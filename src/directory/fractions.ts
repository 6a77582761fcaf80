/**
 * Fractions as the directory sends them: rounded to six decimal places (a millionth of the key
 * space), which is past any sampled measure's precision and keeps answers readable. Integers
 * (counts, generations, hash ranges) are left as they are.
 */
const SCALE = 1_000_000;

/** A copy of `value` with every non-integer number rounded; arrays and plain objects are copied. */
export function roundFractions<T>(value: T): T {
  if (typeof value === 'number') return (Number.isInteger(value) ? value : Math.round(value * SCALE) / SCALE) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => roundFractions(v)) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = roundFractions(v);
    return out as T;
  }
  return value;
}
