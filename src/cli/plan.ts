/**
 * `shardgate plan`: what a scale change would do to ownership, before it is made. It follows the
 * same discovery as `serve` until the first endpoint set, plans the change against it with the
 * configured algorithm (src/directory/plan.ts), prints the matrix of keys that move (or the JSON
 * of `GET /v1/plan` with --json) and exits: 0 with a plan, 2 for a change that cannot be planned.
 */
import { pino } from 'pino';
import type { ShardgateConfig } from '../config/config.js';
import { followSets } from '../dataplane/follow-sets.js';
import { Directory } from '../directory/directory.js';
import { createLookupPlane } from '../directory/lookup-plane.js';
import type { PlanInput, PlanNames } from '../directory/plan.js';
import { parsePlanChange } from '../directory/plan.js';
import { formatPlan } from '../directory/plan-table.js';
import { isRefusal } from '../directory/refusal.js';
import { describeEndpoints, openEndpointSource } from '../discovery/configured-source.js';
import { ShardgateError } from '../errors.js';

/** How long the first endpoint set is awaited. */
export const PLAN_WAIT_MS = 30_000;

export const FLAG_NAMES: PlanNames = { add: '--add ', remove: '--remove ', drain: '--drain ', replicas: '--replicas ', weight: '--weight ' };

export interface PlanRun {
  readonly input: PlanInput;
  /** Print the JSON answer of GET /v1/plan instead of the table. */
  readonly json: boolean;
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
}

/**
 * Resolves to the exit code.
 * @throws ShardgateError SG_ERR_DISCOVERY when no endpoint set comes within PLAN_WAIT_MS
 */
export async function runPlan(config: ShardgateConfig, run: PlanRun): Promise<number> {
  const change = parsePlanChange(run.input, FLAG_NAMES);
  if (isRefusal(change)) return refused(run, change.error);
  // Discovery's own log lines would bury the plan: warnings and errors only, on stderr.
  const level = config.logLevel === 'debug' || config.logLevel === 'trace' ? config.logLevel : 'warn';
  const logger = pino({ level }, pino.destination({ dest: 2, sync: true }));
  const configured = await openEndpointSource(config.endpoints);
  const plane = createLookupPlane(config, logger);
  const directory = new Directory({ plane, config, logger });
  const follower = followSets(configured.source, (set) => plane.apply(set), { logger });
  let timer: NodeJS.Timeout | undefined;
  try {
    const waited = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ShardgateError('SG_ERR_DISCOVERY', `no endpoint set from ${describeEndpoints(config.endpoints)} within ${PLAN_WAIT_MS / 1000} s: check the discovery flags, or give --endpoints`)), PLAN_WAIT_MS);
    });
    await Promise.race([follower.first, waited]);
    const plan = directory.plan(change, { names: FLAG_NAMES });
    if (isRefusal(plan)) return refused(run, plan.error);
    run.out.write(run.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan));
    return 0;
  } finally {
    clearTimeout(timer);
    follower.unsubscribe();
    directory.close();
    await plane.close();
  }
}

function refused(run: PlanRun, message: string): number {
  run.err.write(`error: ${message}\n`);
  return 2;
}
