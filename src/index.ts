/**
 * The package's own entry (`import ... from 'shardgate'`): the library's public parts. Each also
 * has an entry of its own (`shardgate/owner`).
 */
export * from './owner/ownership.js';
