/** The scenarios of bench:faults, in the order the table lists them; `no-fault` is the load alone, for comparison. */

export type ScenarioName = 'no-fault' | 'pod-killed' | 'pod-hangs' | 'pod-resets' | 'pod-503' | 'pod-restarts' | 'reloads' | 'slowloris' | 'stalled-bodies' | 'upload' | 'upload-queued' | 'download';

export const SCENARIO_NAMES: readonly ScenarioName[] = ['no-fault', 'pod-killed', 'pod-hangs', 'pod-resets', 'pod-503', 'pod-restarts', 'reloads', 'slowloris', 'stalled-bodies', 'upload', 'upload-queued', 'download'];
