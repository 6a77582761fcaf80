/**
 * Runs the real `shardgate` binary (bin/shardgate.js, over the built dist/) as a child process,
 * and small real HTTP backends on 127.0.0.1 for it to route to. Everything started here (and every
 * temporary directory) is stopped or removed by the test's `after` hook, pass or fail.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The package root: dist/test/cli/ is three levels down. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'shardgate.js');

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command that is expected to end by itself, killing it after `timeoutMs`; `env` is the child's whole environment. */
export function runToEnd(args: readonly string[], timeoutMs = 15_000, env: NodeJS.ProcessEnv = process.env): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shardgate ${args.join(' ')} did not end within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface LogLine {
  readonly msg?: string;
  readonly [field: string]: unknown;
}

/** A long-running `shardgate serve`, its JSON log lines parsed as they arrive. */
export class Served {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: { readonly test: (l: LogLine) => boolean; readonly resolve: (l: LogLine) => void }[] = [];

  /** `env` is added to this process's environment for the child. */
  constructor(t: TestContext, args: readonly string[], env: Readonly<Record<string, string>> = {}) {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child = child;
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      // What the proxy said about any error or warning, so that a failed test shows the proxy's side.
      const trouble = this.lines.filter((l) => typeof l['level'] === 'number' && l['level'] >= 50);
      if (trouble.length > 0 || this.stderr !== '') t.diagnostic(`shardgate logged errors: ${JSON.stringify(trouble.slice(-20))} stderr: ${this.stderr.slice(-2_000)}`);
    });
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const text = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { msg: `(not JSON) ${text}` };
        }
        this.lines.push(line);
        const ready = this.#waiters.filter((w) => w.test(line));
        this.#waiters = this.#waiters.filter((w) => !w.test(line));
        for (const w of ready) w.resolve(line);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
  }

  /** The first log line (already seen or still to come) that passes `test`. */
  waitFor(test: (l: LogLine) => boolean, what: string, timeoutMs = 10_000): Promise<LogLine> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no ${what} log line within ${timeoutMs} ms; stdout: ${JSON.stringify(this.lines)}; stderr: ${this.stderr}`));
      }, timeoutMs);
      void this.exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`shardgate exited (${code}) before logging ${what}; stderr: ${this.stderr}`));
      });
      this.#waiters.push({
        test,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  /** The proxy's address from its "listening" line. */
  async address(): Promise<{ host: string; port: number }> {
    const line = await this.waitFor((l) => l.msg === 'listening', '"listening"');
    const m = /^(.*):(\d+)$/.exec(String(line.address));
    if (m === null) throw new Error(`unexpected address ${String(line.address)}`);
    return { host: m[1]!, port: Number(m[2]) };
  }

  /** Sends `signal` and waits (bounded) for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`shardgate did not exit within ${timeoutMs} ms of ${signal}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A directory of the test's own, removed when it ends. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An HTTP backend that answers every request with its own name. */
export async function backend(t: TestContext, name: string): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.setHeader('content-type', 'text/plain');
    res.end(name);
  });
  return listenLoopback(t, server);
}

/** Listens on an ephemeral port of 127.0.0.1 until the test ends; resolves to `127.0.0.1:PORT`. */
export async function listenLoopback(t: TestContext, server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return `127.0.0.1:${port}`;
}

export interface Reply {
  readonly status: number;
  readonly endpoint: string | undefined;
  readonly body: string;
}

/** One GET through the proxy on a fresh connection (no pooling to outlive the test). */
export function get(port: number, headers: Record<string, string> = {}): Promise<Reply> {
  return send(port, { headers });
}

/** One request through the proxy on a fresh connection, with an optional body. */
export function send(port: number, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? '/', headers: options.headers ?? {}, agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => {
        const h = res.headers['x-shardgate-endpoint'];
        resolve({ status: res.statusCode ?? 0, endpoint: Array.isArray(h) ? h[0] : h, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}
