/**
 * Unknown keys in a config document, found at every level before the values are checked, each
 * named by its path with the nearest valid name suggested: a misspelt `balancer: {algoritm: maglev}`
 * is `balancer.algoritm: unknown key; did you mean balancer.algorithm?`, where zod alone would say
 * that `algorithm` is missing. The document is walked along the schema (schema-fields.ts): into
 * the mapping options of a union (for the balancer, the one its `algorithm` names; all of them
 * when it names none or an unknown one), list elements and record values.
 */
import type { z } from 'zod';
import { fieldOf } from './issues.js';
import { nearestName } from './nearest-name.js';
import { objectOptions, shapeOf } from './schema-fields.js';

export interface UnknownKey {
  /** Where the key was found: `['balancer', 'algoritm']`. */
  readonly path: readonly (string | number)[];
  /** The sentence after `path: `: `unknown key; did you mean balancer.algorithm?`. */
  readonly detail: string;
}

/** Every unknown key in `value`, in document order. */
export function unknownKeys(schema: z.core.$ZodType, value: unknown): UnknownKey[] {
  const out: UnknownKey[] = [];
  walk(schema, value, [], out);
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(schema: z.core.$ZodType, value: unknown, path: (string | number)[], out: UnknownKey[]): void {
  if (value === undefined || value === null) return;
  const shape = shapeOf(schema);
  switch (shape.kind) {
    case 'object':
      if (isRecord(value)) walkObject(shape.fields, value, path, out, null);
      return;
    case 'union':
      walkUnion(shape.options, shape.discriminator, value, path, out);
      return;
    case 'array':
      if (Array.isArray(value)) value.forEach((v, i) => walk(shape.element, v, [...path, i], out));
      return;
    case 'record':
      if (isRecord(value)) for (const [k, v] of Object.entries(value)) walk(shape.value, v, [...path, k], out);
      return;
    case 'leaf':
      return;
    default: {
      const never: never = shape;
      throw new Error(`unhandled shape ${JSON.stringify(never)}`);
    }
  }
}

/**
 * `owner`: for one option of a discriminated union, its discriminator value (`maglev`) and the
 * fields of the other options, so that an option of another algorithm is named as such.
 */
function walkObject(
  fields: Readonly<Record<string, z.core.$ZodType>>,
  value: Record<string, unknown>,
  path: (string | number)[],
  out: UnknownKey[],
  owner: { readonly name: string; readonly others: ReadonlyMap<string, readonly string[]> } | null,
): void {
  const known = Object.keys(fields);
  for (const [k, v] of Object.entries(value)) {
    const field = fields[k];
    if (field !== undefined) {
      walk(field, v, [...path, k], out);
      continue;
    }
    out.push({ path: [...path, k], detail: describeUnknown(k, known, path, owner) });
  }
}

function walkUnion(options: readonly z.core.$ZodType[], discriminator: string | null, value: unknown, path: (string | number)[], out: UnknownKey[]): void {
  if (!isRecord(value)) return;
  const mappings = objectOptions(options);
  if (mappings.length === 0) return;
  if (discriminator === null) {
    // An undiscriminated union of one mapping and plain values (`outlier: false | {...}`).
    if (mappings.length === 1) walkObject(mappings[0]!.fields, value, path, out, null);
    return;
  }
  const chosen = value[discriminator];
  const match = chosen === undefined ? undefined : mappings.find((m) => {
          const d = m.fields[discriminator];
          return d !== undefined && isValid(d, chosen);
        });
  if (match !== undefined) {
    // Which other option has each field this one lacks, to say `tableSize` is maglev's.
    const others = new Map<string, string[]>();
    for (const m of mappings) {
      if (m === match) continue;
      const names = optionNames(m.fields[discriminator]!);
      for (const f of Object.keys(m.fields)) if (!(f in match.fields)) others.set(f, [...(others.get(f) ?? []), ...names]);
    }
    walkObject(match.fields, value, path, out, { name: String(chosen), others });
    return;
  }
  // No option chosen (the discriminator is missing, misspelt or unknown): a key no option knows
  // is certainly wrong; the discriminator's own problem is zod's to report.
  const all: Record<string, z.core.$ZodType> = {};
  for (const m of mappings) for (const [f, s] of Object.entries(m.fields)) all[f] ??= s;
  for (const [k, v] of Object.entries(value)) {
    const field = all[k];
    if (field === undefined) out.push({ path: [...path, k], detail: describeUnknown(k, Object.keys(all), path, null) });
    else walk(field, v, [...path, k], out);
  }
}

function isValid(schema: z.core.$ZodType, v: unknown): boolean {
  const r = schema['~standard'].validate(v);
  return !(r instanceof Promise) && r.issues === undefined;
}

/** The discriminator values an option is chosen by: `maglev`, or `rendezvous` and `jump`. */
function optionNames(schema: z.core.$ZodType): string[] {
  const def = schema._zod.def as unknown as { readonly values?: readonly unknown[]; readonly entries?: Readonly<Record<string, unknown>> };
  if (def.values !== undefined) return def.values.map(String);
  if (def.entries !== undefined) return Object.values(def.entries).map(String);
  return [];
}

function describeUnknown(key: string, known: readonly string[], path: readonly (string | number)[], owner: { readonly name: string; readonly others: ReadonlyMap<string, readonly string[]> } | null): string {
  const near = nearestName(key, known);
  if (near !== null) return `unknown key; did you mean ${fieldOf([...path, near])}?`;
  if (owner !== null) {
    const elsewhere = owner.others.get(key);
    const where = elsewhere === undefined || elsewhere.length === 0 ? '' : ` (${elsewhere.join(', ')} ${elsewhere.length === 1 ? 'has' : 'have'} it)`;
    return `unknown key: ${owner.name} has no such option${where}; it takes: ${known.join(', ')}`;
  }
  return `unknown key: there is no such setting here; known: ${known.join(', ')}`;
}
