/**
 * `shardgate demo --serve`: after the scenes, keep the pods and a shardgate proxy running (ring hash,
 * bounded loads, key header `x-account`, p2c for keyless requests) for the reader to try with curl,
 * until SIGINT or SIGTERM. Then print what each pod served meanwhile and close everything.
 */
import { createEndpointSet } from '../balancer/endpoint.js';
import type { BalancerConfig } from '../balancer/factory.js';
import { DEFAULT_RING } from '../balancer/factory.js';
import { KEY_HEADER, createHashingBalancer, startDemoProxy } from './demo-proxy.js';
import type { PodFleet } from './pods.js';
import type { Report } from './report.js';
import { renderTable } from './table.js';

export interface ServeOptions {
  /** Port to try first; an ephemeral one is used when it is taken. */
  readonly port: number;
  readonly loadFactor: number;
  readonly seed: number;
  /** Stops serving as SIGINT would; for callers that embed the demo. */
  readonly signal?: AbortSignal;
}

export async function serveUntilStopped(fleet: PodFleet, report: Report, options: ServeOptions): Promise<void> {
  const keyless = 'p2c';
  const config: BalancerConfig = { algorithm: 'ring-hash', ...DEFAULT_RING, loadFactor: options.loadFactor, keyless: { algorithm: keyless } };
  const stop = waitForStop(options.signal);
  try {
    const proxy = await startDemoProxy({
      balancer: (board, clock) => createHashingBalancer(config, board, clock, options.seed),
      endpoints: createEndpointSet(fleet.endpointSpecs()),
      port: options.port,
      fallbackToEphemeral: true,
    });
    try {
      fleet.reset();
      const taken = options.port === 0 || proxy.port === options.port ? '' : ` (port ${options.port} is taken)`;
      report.raw(
        `\nServing: shardgate on ${proxy.origin}${taken}\n` +
          `  ring hash, bounded loads c = ${options.loadFactor}, key header ${KEY_HEADER}, requests without a key: ${keyless}\n` +
          `  pods: ${fleet.pods.map((p) => `${p.name} ${p.address}`).join(', ')}\n\n` +
          `Try:\n` +
          `  curl -s -H '${KEY_HEADER}: 42' ${proxy.origin}/\n` +
          `  for i in 1 2 3 4 5 6; do curl -s -H '${KEY_HEADER}: 42' ${proxy.origin}/; echo; done   # same pod every time\n` +
          `  for i in 1 2 3 4 5 6; do curl -s ${proxy.origin}/; echo; done                      # no key: spread by ${keyless}\n\n` +
          `Ctrl-C (SIGINT) or SIGTERM stops the demo.\n`,
      );
      const why = await stop.stopped;
      report.raw(`\n${why}: stopping. Requests served while serving:\n\n`);
      report.raw(renderTable([{ header: 'pod' }, { header: 'requests', align: 'right' }, { header: 'accounts', align: 'right' }], fleet.pods.map((p) => [p.name, String(p.requestCount), String(p.keys.size)])));
    } finally {
      await proxy.close();
    }
  } finally {
    stop.dispose();
  }
}

interface StopWaiter {
  /** Resolves with what stopped the demo: the signal's name or `aborted`. */
  readonly stopped: Promise<string>;
  /** Removes the signal handlers, so that a later Ctrl-C ends the process as usual. */
  dispose(): void;
}

function waitForStop(signal: AbortSignal | undefined): StopWaiter {
  let resolve!: (why: string) => void;
  const stopped = new Promise<string>((r) => {
    resolve = r;
  });
  const onSignal = (name: NodeJS.Signals): void => resolve(name);
  const onAbort = (): void => resolve('aborted');
  // Handlers go in before the curl line is printed: a Ctrl-C from then on closes servers cleanly.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (signal?.aborted === true) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    stopped,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}
