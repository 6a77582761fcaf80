/**
 * Drives the test exec credential plugin (exec-credential-plugin.ts): its state directory, the
 * kubeconfig `user` entry that runs it with `node`, and the runs it logged.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

export const PLUGIN_SCRIPT = fileURLToPath(new URL('./exec-credential-plugin.js', import.meta.url));

export interface PluginRun {
  /** KUBERNETES_EXEC_INFO, parsed. */
  readonly info: { apiVersion: string; kind: string; spec: { interactive: boolean; cluster?: Record<string, unknown> } };
  readonly greeting: string | null;
}

export class ExecPlugin {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async create(t: TestContext, token: string | null): Promise<ExecPlugin> {
    const dir = await mkdtemp(join(tmpdir(), 'shardgate-exec-plugin-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const plugin = new ExecPlugin(dir);
    if (token !== null) await plugin.set('token', token);
    return plugin;
  }

  /** Writes (or, with null, removes) one of the plugin's state files. */
  async set(name: 'token' | 'expires' | 'cert' | 'key' | 'hang', content: string | null): Promise<void> {
    if (content === null) await rm(join(this.dir, name), { force: true });
    else await writeFile(join(this.dir, name), content);
  }

  /** The kubeconfig `user` entry running the plugin. */
  user(exec: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: process.execPath,
        args: [PLUGIN_SCRIPT],
        env: [{ name: 'SHARDGATE_PLUGIN_DIR', value: this.dir }, { name: 'SHARDGATE_PLUGIN_GREETING', value: 'hello from the kubeconfig' }],
        interactiveMode: 'Never',
        ...exec,
      },
    };
  }

  runs(): PluginRun[] {
    const file = join(this.dir, 'runs');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').trim().split('\n').map((line) => {
      const raw = JSON.parse(line) as { info: string; greeting: string | null };
      return { info: JSON.parse(raw.info) as PluginRun['info'], greeting: raw.greeting };
    });
  }
}
