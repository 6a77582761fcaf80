/**
 * A running target in one balancing mode: configured, started, seen to answer on its ports, its
 * h2c support known.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildRegistry, ManagedChild } from '../common/children.js';
import { freePorts } from '../common/children.js';
import { launchProcess } from '../common/launch-process.js';
import { h2cStatus } from '../common/probe.js';
import type { BalanceMode } from './scenario.js';
import { KEY_HEADER } from './scenario.js';
import type { LaunchContext, TargetSpec } from './targets.js';
import { launchFor } from './targets.js';

export interface Instance {
  readonly spec: TargetSpec;
  readonly mode: BalanceMode;
  readonly child: ManagedChild;
  readonly commandLine: string;
  readonly h1Port: number;
  /** The port that speaks h2c, or why there is none. */
  readonly h2: { readonly port: number } | { readonly reason: string };
}

export type Started = { readonly kind: 'started'; readonly instance: Instance } | { readonly kind: 'absent'; readonly reason: string };

export type InstanceContext = Omit<LaunchContext, 'h1Port' | 'h2Port' | 'dir'> & { readonly baseDir: string };

export async function startInstance(registry: ChildRegistry, spec: TargetSpec, mode: BalanceMode, ctx: InstanceContext): Promise<Started> {
  const [h1Port, h2Port] = await freePorts(2);
  const dir = join(ctx.baseDir, `${spec.name}-${mode}`);
  mkdirSync(dir, { recursive: true });
  const launch = launchFor(spec, mode, { ...ctx, h1Port: h1Port!, h2Port: h2Port!, dir });
  if (launch.kind === 'unsupported') return { kind: 'absent', reason: launch.reason };
  const ports: [number, ...number[]] = launch.h2.kind === 'port' ? [launch.h1Port, launch.h2.port] : [launch.h1Port];
  const started = await launchProcess(registry, `${spec.name} (${mode})`, { command: launch.command, args: launch.args, files: launch.files, ...(launch.env === undefined ? {} : { env: launch.env }), ports }, join(dir, 'output.log'), { [KEY_HEADER]: 'probe' });
  if (started.kind === 'absent') return started;
  let h2: Instance['h2'];
  if (launch.h2.kind === 'none') h2 = { reason: launch.h2.reason };
  else {
    const s = await h2cStatus(launch.h2.port);
    if (s === 200) h2 = { port: launch.h2.port };
    else if (launch.h2.kind === 'probe') h2 = { reason: 'n/a (not supported): no h2c answer' };
    else h2 = { reason: `h2c failed: ${s}` };
  }
  return { kind: 'started', instance: { spec, mode, child: started.child, commandLine: started.commandLine, h1Port: launch.h1Port, h2 } };
}
