/**
 * The valid name a misspelt one was meant to be, for "did you mean" suggestions: the nearest by
 * edit distance, if it is near enough to be a typo rather than another name.
 */

/**
 * The known name closest to `name` by edit distance (case-insensitive, a swap of two neighbouring
 * letters counting once), if it is close enough to be a misspelling: at most a third of the
 * longer name's letters, and at least one. Ties go to the earlier name.
 */
export function nearestName(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  const a = name.toLowerCase();
  for (const k of known) {
    const b = k.toLowerCase();
    const limit = Math.max(1, Math.floor(Math.max(a.length, b.length) / 3));
    const d = editDistance(a, b);
    if (d <= limit && d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}
