/**
 * Reads an options record as config gives it (outlier detection, retry budget, health checks):
 * absent means every default, a field nobody knows is refused rather than ignored (a misspelt
 * setting would otherwise silently keep its default), and each value is checked against its range.
 * Every refusal is a ConfigError naming the field, the value, what is allowed and the default.
 * Startup only, never on the request path.
 */
import { ConfigError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

/** A value as an error message shows it: numbers as written, anything else as JSON. */
export function showValue(v: unknown): string {
  if (typeof v === 'number') return String(v);
  // Config values come from YAML or flags: plain data, which JSON shows; undefined shows its type.
  return JSON.stringify(v) ?? typeof v;
}

export class OptionReader {
  readonly #record: Readonly<Record<string, unknown>>;
  readonly #field: string;
  readonly #code: ErrorCode;

  /**
   * @param raw the options as parsed from YAML or built from flags; undefined or null for defaults
   * @param field the dotted config path of the record, for messages (`proxy.outlierDetection`)
   * @param known every field the record may have
   * @throws ConfigError when `raw` is not a record or holds a field not in `known`
   */
  constructor(raw: unknown, field: string, code: ErrorCode, known: readonly string[]) {
    this.#field = field;
    this.#code = code;
    if (raw === undefined || raw === null) {
      this.#record = {};
      return;
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ConfigError(code, field, `is ${showValue(raw)}: give a mapping of settings (${known.join(', ')}), or leave it out for the defaults`);
    }
    for (const key of Object.keys(raw)) {
      if (!known.includes(key)) {
        throw new ConfigError(code, `${field}.${key}`, `is not a setting here: the settings are ${known.join(', ')}`);
      }
    }
    this.#record = raw as Record<string, unknown>;
  }

  /** The integer at `key`, from `min` to `max`; `what` completes "... must be an integer". */
  int(key: string, min: number, max: number, fallback: number, what: string): number {
    return this.#numeric(key, min, max, fallback, `${what} must be an integer`, true);
  }

  /** The finite number at `key`, from `min` to `max`. */
  number(key: string, min: number, max: number, fallback: number, what: string): number {
    return this.#numeric(key, min, max, fallback, `${what} must be a number`, false);
  }

  bool(key: string, fallback: boolean, what: string): boolean {
    const v = this.#record[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') return this.fail(key, v, `${what} must be true or false; the default is ${String(fallback)}`);
    return v;
  }

  /** The string at `key`; `check` returns why a value is refused, or null to accept it. */
  text(key: string, fallback: string, check: (v: string) => string | null): string {
    const v = this.#record[key];
    if (v === undefined) return fallback;
    const why = typeof v === 'string' ? check(v) : `must be a string; the default is ${JSON.stringify(fallback)}`;
    if (why !== null) return this.fail(key, v, why);
    return v as string;
  }

  #numeric(key: string, min: number, max: number, fallback: number, rule: string, integer: boolean): number {
    const v = this.#record[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !(integer ? Number.isInteger(v) : Number.isFinite(v)) || v < min || v > max) {
      return this.fail(key, v, `${rule} from ${min} to ${max}; the default is ${fallback}`);
    }
    return v;
  }

  fail(key: string, value: unknown, why: string): never {
    throw new ConfigError(this.#code, `${this.#field}.${key}`, `is ${showValue(value)}: ${why}`);
  }
}
