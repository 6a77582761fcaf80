/**
 * The gRPC section's tables: per client, the median over rounds of calls per second and of the
 * client process's CPU time per call, and that CPU beside the reference's (grpc-js's own
 * round_robin) as a ratio; and the picker's own cost per call beside its plane's.
 */
import { markdownTable } from '../common/markdown-table.js';
import { median } from '../proxy/load-result.js';

/** One measured window of one client. */
export interface GrpcSample {
  readonly calls: number;
  readonly seconds: number;
  /** User and system CPU of the client process over the window. */
  readonly cpuMicros: number;
}

export interface GrpcClientResult {
  readonly label: string;
  readonly samples: readonly GrpcSample[];
}

/** The table, with ratios to the first result (the reference). */
export function grpcTable(results: readonly GrpcClientResult[]): string {
  const rows = results.map((r) => ({
    label: r.label,
    callsPerS: median(r.samples.map((s) => s.calls / s.seconds)),
    cpuPerCall: median(r.samples.map((s) => s.cpuMicros / s.calls)),
  }));
  const reference = rows[0]!;
  return markdownTable(
    ['client', 'calls/s', 'CPU µs/call', `CPU/call vs ${reference.label}`],
    rows.map((r) => [r.label, r.callsPerS.toFixed(0), r.cpuPerCall.toFixed(1), `${(r.cpuPerCall / reference.cpuPerCall).toFixed(2)}x`]),
  );
}

export interface Cost {
  readonly ns: number;
  /** Bytes allocated. */
  readonly bytes: number;
}

/** What grpc-pick-probe.ts measures of one policy. */
export interface GrpcPickCost {
  readonly label: string;
  /** Per call through the picker and its ledger. */
  readonly picker: Cost;
  /** Per request through the plane alone, as the proxy uses it. */
  readonly plane: Cost;
}

/** Time and bytes allocated per call through the picker, beside the plane's own per request. */
export function pickCostTable(costs: readonly GrpcPickCost[]): string {
  return markdownTable(
    ['policy', 'picker ns/call', 'picker B/call', 'plane alone ns', 'plane alone B'],
    costs.map((c) => [c.label, c.picker.ns.toFixed(0), c.picker.bytes.toFixed(1), c.plane.ns.toFixed(0), c.plane.bytes.toFixed(1)]),
  );
}
