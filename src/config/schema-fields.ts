/**
 * The fields a zod schema describes, read from the schema itself: what unknown-keys.ts checks a
 * document against, and the list of every setting the README's configuration reference must
 * describe (a test compares the two). One walk of the schema's structure: optional, nullable and
 * default wrappers are looked through, a union offers the fields of all its mappings (a
 * discriminated union's options are told apart by their discriminator), lists and records are
 * entered through their elements.
 *
 * It reads zod's documented `_zod.def` structure (zod 4); refinements do not change it.
 */
import type { z } from 'zod';

type AnySchema = z.core.$ZodType;

/** What a schema holds, as far as field names go. */
export type FieldShape =
  /** A mapping with exactly these fields. */
  | { readonly kind: 'object'; readonly fields: Readonly<Record<string, AnySchema>> }
  /** One of several schemas; `discriminator` names the field that tells mappings apart. */
  | { readonly kind: 'union'; readonly options: readonly AnySchema[]; readonly discriminator: string | null }
  /** A list of `element`. */
  | { readonly kind: 'array'; readonly element: AnySchema }
  /** A mapping with names of the user's choosing, each holding `value`. */
  | { readonly kind: 'record'; readonly value: AnySchema }
  /** A value with no fields of its own. */
  | { readonly kind: 'leaf' };

interface Def {
  readonly type: string;
  readonly innerType?: AnySchema;
  readonly shape?: Readonly<Record<string, AnySchema>>;
  readonly options?: readonly AnySchema[];
  readonly discriminator?: string;
  readonly element?: AnySchema;
  readonly valueType?: AnySchema;
  readonly in?: AnySchema;
}

function defOf(schema: AnySchema): Def {
  return schema._zod.def;
}

/** The schema's shape, wrappers looked through. */
export function shapeOf(schema: AnySchema): FieldShape {
  let s = schema;
  for (;;) {
    const def = defOf(s);
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'nonoptional':
      case 'readonly':
      case 'catch':
        s = def.innerType!;
        continue;
      case 'pipe':
        s = def.in!;
        continue;
      case 'object':
        return { kind: 'object', fields: def.shape! };
      case 'union':
        return { kind: 'union', options: def.options!, discriminator: def.discriminator ?? null };
      case 'array':
        return { kind: 'array', element: def.element! };
      case 'record':
        return { kind: 'record', value: def.valueType! };
      default:
        return { kind: 'leaf' };
    }
  }
}

/** The mapping options of a union (a union may also offer plain values: `outlier: false`). */
export function objectOptions(options: readonly AnySchema[]): { readonly schema: AnySchema; readonly fields: Readonly<Record<string, AnySchema>> }[] {
  const out: { schema: AnySchema; fields: Readonly<Record<string, AnySchema>> }[] = [];
  for (const o of options) {
    const shape = shapeOf(o);
    if (shape.kind === 'object') out.push({ schema: o, fields: shape.fields });
  }
  return out;
}

/**
 * Every field path the schema describes, in the order the schema lists them: `proxy.timeouts.connectMs`,
 * `endpoints[].name`, `balancer.ranges[].from`. A union's mappings contribute every field any of
 * them has, once. A record's free-form names end the path (`endpoints[].labels`).
 */
export function schemaPaths(schema: AnySchema, prefix = ''): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (p: string): void => {
    if (seen.has(p)) return;
    seen.add(p);
    out.push(p);
  };
  const walk = (s: AnySchema, at: string): void => {
    const shape = shapeOf(s);
    switch (shape.kind) {
      case 'object':
        for (const [name, field] of Object.entries(shape.fields)) {
          const p = at === '' ? name : `${at}.${name}`;
          add(p);
          walk(field, p);
        }
        return;
      case 'union':
        for (const o of shape.options) walk(o, at);
        return;
      case 'array':
        walk(shape.element, `${at}[]`);
        return;
      case 'record':
      case 'leaf':
        return;
      default: {
        const never: never = shape;
        throw new Error(`unhandled shape ${JSON.stringify(never)}`);
      }
    }
  };
  walk(schema, prefix);
  return out;
}
