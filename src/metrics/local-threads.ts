/**
 * RoutingThreads for `shardgate serve` on one thread: the admin listener and the proxy share it,
 * so a scrape reads the recorder directly.
 */
import type { AccessLogSettings } from './access-log.js';
import type { RoutingThreads } from './metrics-routes.js';
import type { RequestRecorder } from './request-recorder.js';
import type { ThreadSnapshot } from './thread-metrics.js';

export class LocalThreads implements RoutingThreads {
  readonly #recorder: RequestRecorder;

  constructor(recorder: RequestRecorder) {
    this.#recorder = recorder;
  }

  async snapshots(): Promise<ThreadSnapshot[]> {
    return [await this.#recorder.metrics.snapshot()];
  }

  get accessLog(): AccessLogSettings {
    return this.#recorder.accessLog.settings;
  }

  setAccessLog(settings: AccessLogSettings): void {
    this.#recorder.accessLog.configure(settings);
  }
}
