/**
 * Turns zod's validation issues into shardgate's error messages: the field's dotted path, the value
 * found there, and what is allowed. zod's own wording ("Invalid input: expected number, received
 * string") names neither the value nor the choices, so every kind of issue gets its own sentence.
 */
import { z } from 'zod';
import { nearestName } from './nearest-name.js';

/** `['endpoints', 1, 'name']` -> `endpoints[1].name`. */
export function fieldOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out.length === 0 ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** A value as it appears in a message: strings quoted, structures abridged. */
export function show(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  // undefined only for functions and symbols, which no parsed document holds.
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const EXPECTED: Readonly<Record<string, string>> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of field: value',
  null: 'null',
};

/**
 * Passed to zod as its error map: unknown fields get the list of known ones, which only the
 * schema (available here, not in the final issue) can tell.
 */
export function zodErrorMap(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'unrecognized_keys' && issue.inst instanceof z.ZodObject) {
    return Object.keys(issue.inst.shape).join(', ');
  }
  return undefined;
}

export interface IssueReport {
  readonly field: string;
  readonly detail: string;
}

/** The field and sentence for one issue; parse with `reportInput: true` so the value is known. */
export function describeIssue(issue: z.core.$ZodIssue): IssueReport {
  const field = fieldOf(issue.path);
  const is = `is ${show(issue.input)}`;
  switch (issue.code) {
    case 'invalid_type': {
      const want = EXPECTED[issue.expected] ?? issue.expected;
      return { field, detail: issue.input === undefined ? `is missing: give ${want}` : `${is}: expected ${want}` };
    }
    case 'too_small': {
      if (issue.origin === 'array') return { field, detail: `has ${show(issue.input)}: it needs at least ${String(issue.minimum)} entries` };
      if (issue.origin === 'string') return { field, detail: `${is}: it must not be empty` };
      return { field, detail: `${is}: use a value ${issue.inclusive === false ? 'above' : 'of at least'} ${String(issue.minimum)}` };
    }
    case 'too_big': {
      if (issue.origin === 'array' || issue.origin === 'string') return { field, detail: `${is}: it may hold at most ${String(issue.maximum)}` };
      return { field, detail: `${is}: use a value ${issue.inclusive === false ? 'below' : 'of at most'} ${String(issue.maximum)}` };
    }
    case 'invalid_value':
      return { field, detail: `${is}: use one of ${issue.values.map((v) => String(v)).join(', ')}` };
    case 'invalid_union': {
      if (issue.discriminator !== undefined && 'options' in issue && issue.options !== undefined) {
        const input: unknown = issue.input;
        const value: unknown = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[issue.discriminator] : undefined;
        const choices = issue.options.map((v) => String(v)).join(', ');
        return { field, detail: value === undefined ? `is missing: use one of ${choices}` : `is ${show(value)}: use one of ${choices}` };
      }
      return { field, detail: `${is}: ${issue.message}` };
    }
    case 'unrecognized_keys': {
      const key = issue.keys[0] ?? '?';
      const input: unknown = issue.input;
      const record = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
      const owner = typeof record.algorithm === 'string' ? record.algorithm : null;
      const near = nearestName(key, issue.message.split(', '));
      if (near !== null) return { field: fieldOf([...issue.path, key]), detail: `unknown key; did you mean ${fieldOf([...issue.path, near])}?` };
      return {
        field: fieldOf([...issue.path, key]),
        detail:
          owner === null
            ? `is ${show(record[key])}, but there is no such setting here; known: ${issue.message}`
            : `is ${show(record[key])}, but ${owner} has no such option; it takes: ${issue.message}`,
      };
    }
    case 'invalid_format':
      return { field, detail: `${is}: ${issue.message}` };
    case 'custom':
      // Our own refinements write the whole sentence, value included.
      return { field, detail: issue.message };
    default:
      return { field, detail: `${is}: ${issue.message}` };
  }
}
