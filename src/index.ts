/** The library's entry points (`import ... from 'shardgate'`); each is also a subpath of its own. */
export * from './client/index.js';
