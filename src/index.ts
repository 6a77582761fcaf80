/**
 * The package's own entry (`import ... from 'shardgate'`): the library's public parts. Each also
 * has an entry of its own (`shardgate/client`, `shardgate/owner`).
 */
export * from './client/index.js';
export * from './owner/ownership.js';
