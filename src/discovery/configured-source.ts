/**
 * The endpoint source a parsed config names: a watched file, read once before anything subscribes
 * so that a file that cannot be used fails the start (rather than serving 503s from an empty set),
 * or a fixed list.
 */
import type { EndpointsConfig } from '../config/config.js';
import type { EndpointSource } from './endpoint-source.js';
import { StaticFileSource } from './static-file.js';
import { StaticListSource } from './static-list.js';

export interface ConfiguredSource {
  readonly source: EndpointSource;
  /** The file's source, to re-read on SIGHUP; null for a fixed list. */
  readonly file: StaticFileSource | null;
}

/** @throws ConfigError naming the endpoints file when it cannot be read, parsed or validated */
export async function openEndpointSource(endpoints: EndpointsConfig): Promise<ConfiguredSource> {
  if (endpoints.kind === 'inline') return { source: new StaticListSource(endpoints.specs), file: null };
  const file = new StaticFileSource(endpoints.path);
  await file.load();
  return { source: file, file };
}
