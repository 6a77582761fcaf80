/**
 * Where a config value came from, so that an error points at what the user typed: the flag
 * (`--bounded-load (balancer.boundedLoad): is 0.9: ...`) or the file
 * (`shardgate.yaml: balancer.boundedLoad: is 0.9: ...`). The field path stays in
 * `ConfigError.field` either way.
 */
import { ConfigError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

export interface Origin {
  /** The file the values were read from, as the user named it. */
  readonly file?: string | undefined;
  /** The flag that set each field path (`balancer.boundedLoad` -> `--bounded-load`). */
  readonly flags?: ReadonlyMap<string, string> | undefined;
}

/** The flag that set `field` or one of its parents (`endpoints[1].name` -> `endpoints`). */
export function flagFor(origin: Origin, field: string): string | undefined {
  const flags = origin.flags;
  if (flags === undefined || flags.size === 0) return undefined;
  let f = field;
  for (;;) {
    const flag = flags.get(f);
    if (flag !== undefined) return flag;
    const cut = Math.max(f.lastIndexOf('.'), f.lastIndexOf('['));
    if (cut <= 0) return undefined;
    f = f.slice(0, cut);
  }
}

/** An error for `field`, its message prefixed with the flag or file it came from. */
export function configError(code: ErrorCode, field: string, detail: string, origin: Origin, cause?: unknown): ConfigError {
  const e = new ConfigError(code, field, detail, cause === undefined ? undefined : { cause });
  const flag = flagFor(origin, field);
  // ConfigError composes `field: detail`; the origin goes in front of that.
  if (flag !== undefined) e.message = `${flag} (${field}): ${detail}`;
  else if (origin.file !== undefined) e.message = `${origin.file}: ${e.message}`;
  return e;
}

/** The message of `e` without its leading `field: `. */
export function detailOf(e: ConfigError): string {
  const prefix = `${e.field}: `;
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

/** The same error, attributed to its origin; for errors raised by code that does not know it. */
export function attribute(e: ConfigError, origin: Origin): ConfigError {
  return configError(e.code, e.field, detailOf(e), origin, e);
}
