/**
 * The scenarios of bench:faults. Each runs against one proxy, freshly started in front of fresh
 * pods, while the client's load (GET and POST, at fixed concurrency) goes on; the fault comes a
 * third of the way into the load, so that the proxy has been serving normally first. The upload
 * and the download run alone, so that the memory they cost is theirs. What each scenario returns
 * besides the tally of its requests is its own measure (the "also" column), with whether it is
 * what a proxy should do.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HeldStatus, HoldKind } from './client-messages.js';
import type { FaultClient, RunningLoad, TransferResult } from './fault-client.js';
import type { PodSet } from './pod-set.js';
import type { ProxyUnderTest } from './proxy-under-test.js';
import type { ScenarioName } from './scenario-names.js';
import type { FaultSettings } from './settings.js';
import type { LoadTally } from './tally.js';
import { emptyTally, record } from './tally.js';
import type { Backend, PerPodLimit } from './targets.js';
import { CLIENT_HEADERS_TIMEOUT_S, reloadBackends, SERVER_TIMEOUT_S } from './targets.js';

/** Pods every proxy starts with; the reload scenario has one more, added and removed. */
export const BASE_PODS = 4;
/** The pod that fails: not the first, so that the proxies have reached it before. */
const FAILING_POD = 1;
/** How far into the load the fault comes. */
const FAULT_AT = 1 / 3;
const RESTARTS = 3;
/** A restarting pod is away this long between closing and listening again. */
const RESTART_PAUSE_MS = 500;
/** Connections both proxies accept, unless a scenario says otherwise. */
const MAX_CONNECTIONS = 4_096;
/** The stalled-bodies scenario's limit: stalled connections that are never closed lock clients out. */
export const STALLED_MAX_CONNECTIONS = 256;
/** Longer than three attempts that each wait for the server timeout: the proxy, not the client, gives up first. */
export const REQUEST_TIMEOUT_MS = (3 * SERVER_TIMEOUT_S + 5) * 1000;
/** A transfer has this long beyond what its slow side needs. */
const TRANSFER_SLACK_MS = 60_000;
/** Slowloris connections should be closed by the request-head timeout; they get this long beyond it. */
const SLOWLORIS_SLACK_S = 5;
const HELD_POLL_MS = 250;
/** The queued upload: one request at a time per pod, and each pod busy this long first. */
const QUEUED_PER_POD: PerPodLimit = { inFlight: 1, queueTimeoutS: 30 };
const BUSY_MS = 8_000;
/** Time for the requests that keep the pods busy to reach them. */
const BUSY_SETTLE_MS = 500;
/** The load runs on this long after the last reload. */
const AFTER_RELOADS_MS = 500;

/** A scenario's own measure, for both proxies alike, and whether the value is the one wanted. */
export interface Extra {
  /** What is measured, in a word or two: `stalled closed`. */
  readonly what: string;
  readonly text: string;
  readonly good: boolean;
}

export interface ScenarioOutcome {
  readonly tally: LoadTally;
  readonly extra: Extra | null;
}

export interface ScenarioContext {
  readonly settings: FaultSettings;
  readonly proxy: ProxyUnderTest;
  readonly pods: PodSet;
  /** The pods the proxy started with. */
  readonly backends: readonly Backend[];
  /** The load's client. */
  readonly client: FaultClient;
  /** The client of held connections and transfers, in a process of its own. */
  readonly abuser: FaultClient;
  readonly idPrefix: string;
  /** Starts the load for `durationMs` (the settings' duration by default). */
  load(durationMs?: number): RunningLoad;
  /** Resolves `fraction` of the load's duration after the load started. */
  at(fraction: number): Promise<void>;
  log(line: string): void;
}

export interface Scenario {
  readonly name: ScenarioName;
  readonly label: string;
  /** Pod processes to start. */
  readonly pods: number;
  readonly maxConnections: number;
  /** A limit on each pod's requests in flight, for both proxies; none when absent. */
  readonly perPod?: PerPodLimit;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}

const mb = (bytes: number): string => `${Math.round(bytes / 1e6)} MB`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The load, with the failing pod's fault a third of the way in. */
async function faultDuringLoad(ctx: ScenarioContext, fault: () => Promise<void> | void): Promise<ScenarioOutcome> {
  const load = ctx.load();
  await ctx.at(FAULT_AT);
  await fault();
  return { tally: await load.done, extra: null };
}

/** The measure of a transfer: answered whole, and how long it took. */
function transferExtra(what: 'upload' | 'download', t: TransferResult): Extra {
  const verb = what === 'upload' ? 'answered' : 'read';
  return { what, text: t.outcome.ok ? `${what} ${verb} in ${seconds(t.ms)}` : `${what} failed after ${seconds(t.ms)}: ${t.outcome.reason}`, good: t.outcome.ok };
}

/** Polls the held connections until every one the proxy accepted is closed, or `deadlineMs` (from now) passes. */
async function waitForClosed(abuser: FaultClient, deadlineMs: number): Promise<HeldStatus> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const s = await abuser.held();
    if (s.closedByPeer >= s.opened || Date.now() >= deadline) return s;
    await sleep(HELD_POLL_MS);
  }
}

/** Held connections opened first, the load run beside them, then the wait for the proxy to close them. */
async function heldDuringLoad(ctx: ScenarioContext, kind: HoldKind, count: number, waitS: number, what: string): Promise<ScenarioOutcome> {
  const openedAt = Date.now();
  const opened = await ctx.abuser.hold({ port: ctx.proxy.port, kind, count });
  if (opened.failed > 0) ctx.log(`${opened.failed} of ${count} ${kind} connections could not be opened`);
  const tally = await ctx.load().done;
  const s = await waitForClosed(ctx.abuser, Math.max(0, openedAt + waitS * 1000 - Date.now()));
  const answers = Object.entries(s.answers)
    .map(([a, n]) => `${n} x ${a}`)
    .join(', ');
  if (answers !== '') ctx.log(`${kind}: the proxy answered ${answers}`);
  const when = s.lastCloseMs === null ? '' : `, the last after ${seconds(s.lastCloseMs)}`;
  return { tally, extra: { what, text: `${s.closedByPeer}/${s.opened} closed within ${waitS} s${when}`, good: s.opened > 0 && s.closedByPeer >= s.opened } };
}

export function scenarios(settings: FaultSettings): Scenario[] {
  const base = { pods: BASE_PODS, maxConnections: MAX_CONNECTIONS };
  const slowMbps = `${Math.round(settings.slowBytesPerS / 1e6)} MB/s`;
  const all: Scenario[] = [
    { ...base, name: 'no-fault', label: 'no fault (the load alone)', run: (ctx) => faultDuringLoad(ctx, () => undefined) },
    { ...base, name: 'pod-killed', label: 'a pod killed (SIGKILL) under load', run: (ctx) => faultDuringLoad(ctx, () => ctx.pods.kill(FAILING_POD)) },
    { ...base, name: 'pod-hangs', label: 'a pod hanging (accepts, never answers)', run: (ctx) => faultDuringLoad(ctx, () => ctx.pods.setMode(FAILING_POD, { kind: 'hang' })) },
    { ...base, name: 'pod-resets', label: 'a pod resetting connections', run: (ctx) => faultDuringLoad(ctx, () => ctx.pods.setMode(FAILING_POD, { kind: 'reset' })) },
    { ...base, name: 'pod-503', label: 'a pod answering 503', run: (ctx) => faultDuringLoad(ctx, () => ctx.pods.setMode(FAILING_POD, { kind: 'unavailable' })) },
    {
      ...base,
      name: 'pod-restarts',
      label: `a pod restarting gracefully ${RESTARTS} times`,
      run: async (ctx) => {
        const load = ctx.load();
        for (let k = 1; k <= RESTARTS; k++) {
          await ctx.at(k / (RESTARTS + 1));
          await ctx.pods.restart(FAILING_POD, RESTART_PAUSE_MS);
        }
        return { tally: await load.done, extra: null };
      },
    },
    {
      ...base,
      pods: BASE_PODS + 1,
      name: 'reloads',
      label: `${settings.reloads} configuration reloads under load`,
      run: async (ctx) => {
        const extraPod = ctx.pods.backends()[BASE_PODS]!;
        // The load lasts as long as the reloads take, whatever their pace.
        const load = ctx.load(10 * 60_000);
        const started = Date.now();
        for (let i = 0; i < settings.reloads; i++) {
          await ctx.proxy.reload(reloadBackends(i, ctx.backends, extraPod));
          await sleep(settings.reloadIntervalMs);
        }
        const tookMs = Date.now() - started;
        await sleep(AFTER_RELOADS_MS);
        await load.stop();
        return { tally: await load.done, extra: { what: 'reloads', text: `${settings.reloads} reloads in ${seconds(tookMs)}`, good: true } };
      },
    },
    {
      ...base,
      maxConnections: Math.max(MAX_CONNECTIONS, settings.slowlorisConnections + settings.concurrency + 256),
      name: 'slowloris',
      label: `${settings.slowlorisConnections.toLocaleString('en-US')} slowloris connections`,
      run: (ctx) => heldDuringLoad(ctx, 'slowloris', settings.slowlorisConnections, CLIENT_HEADERS_TIMEOUT_S + SLOWLORIS_SLACK_S, 'slowloris closed'),
    },
    {
      ...base,
      maxConnections: STALLED_MAX_CONNECTIONS,
      name: 'stalled-bodies',
      label: `${settings.stalledBodies} stalled bodies, ${STALLED_MAX_CONNECTIONS} connections allowed`,
      run: (ctx) => heldDuringLoad(ctx, 'stalled-body', settings.stalledBodies, settings.stallWaitS, 'stalled closed'),
    },
    {
      ...base,
      name: 'upload',
      label: `a ${mb(settings.uploadBytes)} upload to a slow pod (${slowMbps})`,
      run: async (ctx) => {
        await ctx.pods.setModeAll({ kind: 'slow-read', bytesPerS: settings.slowBytesPerS });
        const requestId = `${ctx.idPrefix}-upload`;
        const timeoutMs = (settings.uploadBytes / settings.slowBytesPerS) * 1000 + TRANSFER_SLACK_MS;
        const t = await ctx.abuser.transfer({ kind: 'upload', port: ctx.proxy.port, bytes: settings.uploadBytes, requestId, timeoutMs });
        const tally = emptyTally();
        record(tally, false, requestId, t.outcome);
        return { tally, extra: transferExtra('upload', t) };
      },
    },
    {
      ...base,
      perPod: QUEUED_PER_POD,
      name: 'upload-queued',
      label: `a ${mb(settings.uploadBytes)} upload waiting for a busy pod (${QUEUED_PER_POD.inFlight} in flight per pod, then a queue)`,
      run: async (ctx) => {
        const tally = emptyTally();
        // Every pod takes one request that it answers BUSY_MS late: the upload has to wait in the queue.
        const busy = ctx.backends.map((_, i) => {
          const requestId = `${ctx.idPrefix}-busy-${i}`;
          const order = { kind: 'download', port: ctx.proxy.port, bytes: 1, bytesPerS: settings.slowBytesPerS, delayMs: BUSY_MS, requestId, timeoutMs: REQUEST_TIMEOUT_MS } as const;
          return ctx.abuser.transfer(order).then((t) => record(tally, true, requestId, t.outcome));
        });
        await sleep(BUSY_SETTLE_MS);
        const requestId = `${ctx.idPrefix}-upload`;
        const t = await ctx.abuser.transfer({ kind: 'upload', port: ctx.proxy.port, bytes: settings.uploadBytes, requestId, timeoutMs: BUSY_MS + TRANSFER_SLACK_MS });
        record(tally, false, requestId, t.outcome);
        await Promise.all(busy);
        return { tally, extra: transferExtra('upload', t) };
      },
    },
    {
      ...base,
      name: 'download',
      label: `a ${mb(settings.downloadBytes)} download to a slow reader (${slowMbps})`,
      run: async (ctx) => {
        const requestId = `${ctx.idPrefix}-download`;
        const timeoutMs = (settings.downloadBytes / settings.slowBytesPerS) * 1000 + TRANSFER_SLACK_MS;
        const t = await ctx.abuser.transfer({ kind: 'download', port: ctx.proxy.port, bytes: settings.downloadBytes, bytesPerS: settings.slowBytesPerS, delayMs: 0, requestId, timeoutMs });
        const tally = emptyTally();
        record(tally, true, requestId, t.outcome);
        return { tally, extra: transferExtra('download', t) };
      },
    },
  ];
  return all.filter((s) => settings.scenarios.includes(s.name));
}
