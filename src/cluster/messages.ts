/**
 * What the supervising thread and the worker threads say to each other (workers.ts,
 * worker-main.ts). Plain data only: everything crosses by structured clone, except the shared
 * cells' SharedArrayBuffer, which is shared.
 *
 * An endpoint set travels as its specs with the slot of each name in the shared in-flight counts
 * (shared-slots.ts) and the slot table's generation; a worker answers every set with the
 * generation it serves afterwards, the new one or, if it refused the set, the one before.
 */
import type { EndpointSpec } from '../balancer/endpoint.js';
import type { ShardgateConfig } from '../config/config.js';
import type { LogLevel } from '../config/defaults.js';
import type { AccessLogSettings } from '../metrics/access-log.js';
import type { ThreadSnapshot } from '../metrics/thread-metrics.js';
import type { ThreadStatus } from '../admin/thread-status.js';

export interface EndpointsMessage {
  readonly kind: 'endpoints';
  /** The slot table's sequence number for this set. */
  readonly generation: number;
  /** The set's own version, from discovery, for the logs. */
  readonly version: number;
  readonly specs: readonly EndpointSpec[];
  /** `slots[i]` is the shared cell of `specs[i].name`. */
  readonly slots: readonly number[];
}

/** Stop accepting, let requests in flight finish (the proxy's shutdown grace), then end. */
export interface StopMessage {
  readonly kind: 'stop';
}

/** Asks for a ReportMessage. */
export interface ReportRequest {
  readonly kind: 'report';
}

/** Asks for a MetricsMessage: the worker's registry (getMetricsAsJSON) and hot keys, for a scrape. */
export interface MetricsRequest {
  readonly kind: 'metrics';
}

/** The access log's settings changed at run time (POST /v1/access-log). */
export interface AccessLogMessage {
  readonly kind: 'access-log';
  readonly settings: AccessLogSettings;
}

/**
 * A reloaded configuration, validated by the supervisor: the worker builds a new data plane from
 * it, gives it the set it routes with, and swaps it into its proxy (requests under way finish on
 * the old one). Answered with a ConfiguredMessage of the same id.
 */
export interface ConfigMessage {
  readonly kind: 'config';
  readonly id: number;
  readonly config: ShardgateConfig;
}

export type ToWorker = EndpointsMessage | StopMessage | ReportRequest | MetricsRequest | AccessLogMessage | StatusRequest | ConfigMessage;

/** The worker listens and routes: its first set is in place. */
export interface ReadyMessage {
  readonly kind: 'ready';
  readonly address: { readonly host: string; readonly port: number };
}

/** Sent for every EndpointsMessage. */
export interface ServedMessage {
  readonly kind: 'served';
  /** The generation the worker serves now. */
  readonly generation: number;
  /** Why the set was refused (the worker serves the previous one), or null. */
  readonly refused: string | null;
}

export interface ReportMessage {
  readonly kind: 'report';
  /** Requests this worker has sent to the endpoints of its current set (every pick, retries included). */
  readonly requests: number;
}

/**
 * A connection to the endpoint could not be made (the proxy's `onConnectFailure`): the supervisor,
 * which runs discovery, may re-resolve. Sent only when WorkerData asks for it, once per failed
 * attempt: the supervisor limits what it does about them.
 */
export interface ConnectFailedMessage {
  readonly kind: 'connect-failed';
  readonly endpoint: string;
}

/** The worker could not start; it ends after sending this. */
export interface FailedMessage {
  readonly kind: 'failed';
  readonly error: { readonly name: string; readonly code: string | null; readonly field: string | null; readonly message: string };
}

/** Answers a MetricsRequest. */
export interface MetricsMessage {
  readonly kind: 'metrics';
  readonly snapshot: ThreadSnapshot;
}

export type FromWorker = ReadyMessage | ServedMessage | ReportMessage | ConnectFailedMessage | FailedMessage | MetricsMessage | StatusMessage | ConfiguredMessage;

// The admin page's status (src/admin/status-routes.ts): the supervisor asks every worker for its
// view of the endpoints when `/v1/status` is read, and merges the answers.

/** Asks for a StatusMessage. */
export interface StatusRequest {
  readonly kind: 'status';
}

/** The worker's view of its endpoints, read when asked. */
export interface StatusMessage {
  readonly kind: 'status';
  readonly status: ThreadStatus;
}

/** Sent for every ConfigMessage. */
export interface ConfiguredMessage {
  readonly kind: 'configured';
  readonly id: number;
  /** Why the worker kept its previous configuration, or null when it applied the new one. */
  readonly refused: string | null;
}


/** What a worker thread starts with. */
export interface WorkerData {
  /** 0-based, for the logs. */
  readonly worker: number;
  readonly config: ShardgateConfig;
  readonly logLevel: LogLevel;
  /** The shared in-flight cells (shared-loads.ts). */
  readonly buffer: SharedArrayBuffer;
  /** This worker's own descriptor of the listening socket (shared-listener.ts). */
  readonly fd: number;
  /** The set to route with from the start. */
  readonly endpoints: EndpointsMessage;
  /** Send a ConnectFailedMessage for each failed connect (discovery re-resolves on them). */
  readonly reportConnectFailures: boolean;
}
