/** Readers for the benchmarks' environment knobs: each names the variable and what it takes when a value is wrong. */

/** An integer >= `min`, or `fallback` when the variable is unset or empty. */
export function integerSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} is ${JSON.stringify(raw)}: give an integer >= ${min}`);
  return n;
}

/** A comma-separated subset of `all`, in the order of `all`; every one when unset. */
export function subsetSetting<T extends string>(env: NodeJS.ProcessEnv, name: string, all: readonly T[]): T[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return [...all];
  const wanted = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = wanted.filter((w) => !(all as readonly string[]).includes(w));
  if (unknown.length > 0) throw new Error(`${name} names ${unknown.join(', ')}: choose from ${all.join(', ')}`);
  // In the canonical order, so that the table reads the same whatever order was typed.
  return all.filter((t) => wanted.includes(t));
}
