/**
 * The one catalogue of shardgate's errors. Every error has a stable code; messages name what was
 * wrong, where, and what to do. Config and startup throw these; the request path returns values.
 */
export const ERROR_CODES = {
  SG_ERR_CONFIG: 'a configuration value is invalid',
  SG_ERR_ENDPOINTS: 'an endpoint list is invalid (duplicate name, bad address or weight)',
  SG_ERR_BALANCER: 'a balancer option is invalid',
  SG_ERR_KEY_SOURCE: 'a key source (header:, cookie:, query:, path:) is invalid',
  SG_ERR_LISTEN: 'the listen address is invalid or cannot be bound',
  SG_ERR_CLI: 'a command-line argument is invalid',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ShardgateError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ShardgateError';
    this.code = code;
  }
}

/** A configuration (file, flag or option) that cannot be used; `field` is its dotted path. */
export class ConfigError extends ShardgateError {
  readonly field: string;
  constructor(code: ErrorCode, field: string, message: string, options?: ErrorOptions) {
    super(code, `${field}: ${message}`, options);
    this.name = 'ConfigError';
    this.field = field;
  }
}
