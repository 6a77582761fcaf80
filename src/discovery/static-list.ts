/**
 * A fixed endpoint list (the config file's `endpoints:` or `--endpoints`): one set, validated when
 * the source is made, delivered once to each subscriber and never changed.
 */
import { createEndpointSet } from '../balancer/endpoint.js';
import type { EndpointSet, EndpointSpec } from '../balancer/endpoint.js';
import { statusOf } from './endpoint-source.js';
import type { DiscoveryError, EndpointSource, SourceStatus } from './endpoint-source.js';

export class StaticListSource implements EndpointSource {
  readonly set: EndpointSet;

  /** @throws ConfigError naming the bad entry (`endpoints[i].name` and so on) */
  constructor(specs: readonly EndpointSpec[], field = 'endpoints') {
    this.set = createEndpointSet(specs, 1, field);
  }

  subscribe(onSet: (set: EndpointSet) => void, _onError: (error: DiscoveryError) => void): () => void {
    let active = true;
    // Never from inside subscribe(): the subscriber may not have stored the unsubscribe yet.
    setImmediate(() => {
      if (active) onSet(this.set);
    });
    return () => {
      active = false;
    };
  }

  status(): SourceStatus {
    return statusOf(this.set, null);
  }
}
