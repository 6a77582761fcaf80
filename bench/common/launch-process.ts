/**
 * Starting a proxy under test: its config files written, the process started (with room for many
 * open files), seen to listen on its ports and to answer 200 to one GET before anything is
 * measured. A proxy that fails any of it is stopped and reported absent, with the reason.
 */
import { writeFileSync } from 'node:fs';
import type { ChildRegistry, ManagedChild } from './children.js';
import { commandLine, waitForPort } from './children.js';
import { http1Status } from './probe.js';

export interface LaunchCommand {
  readonly command: string;
  readonly args: readonly string[];
  /** Files to write before starting (configs). */
  readonly files: readonly { readonly path: string; readonly text: string }[];
  /** Environment variables set for it, besides the bench's own. */
  readonly env?: Readonly<Record<string, string>>;
  /** Every port it must listen on; the first is probed with GET /. */
  readonly ports: readonly [number, ...number[]];
}

export type Launched = { readonly kind: 'started'; readonly child: ManagedChild; readonly commandLine: string } | { readonly kind: 'absent'; readonly reason: string };

export async function launchProcess(registry: ChildRegistry, name: string, c: LaunchCommand, logFile: string, probeHeaders: Record<string, string> = {}): Promise<Launched> {
  for (const f of c.files) writeFileSync(f.path, f.text);
  const child = registry.spawn(name, c.command, c.args, logFile, { manyFiles: true, ...(c.env === undefined ? {} : { env: c.env }) });
  try {
    for (const port of c.ports) await waitForPort(child, port);
    const status = await http1Status(c.ports[0], probeHeaders);
    if (status !== 200) throw new Error(`${name} answered ${status} to GET / (expected 200):\n${child.logTail()}`);
  } catch (e) {
    await registry.stop(child);
    const lastLogLine = child.logTail().trim().split('\n').pop() ?? '';
    return { kind: 'absent', reason: `failed to start: ${(e as Error).message.split('\n')[0]} ${lastLogLine}` };
  }
  const env = Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v} `).join('');
  return { kind: 'started', child, commandLine: env + commandLine(c.command, c.args) };
}
