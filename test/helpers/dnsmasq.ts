/**
 * A real DNS server for tests: Debian's dnsmasq on 127.0.0.1, on a free unprivileged port, serving
 * only the records given (A/AAAA and SRV). Under `cluster.local` any other name is NXDOMAIN. A name
 * outside it is answered only with the records given for it, and any other query is refused
 * (REFUSED, for want of an upstream): a name given only A records there stands for a server that
 * refuses AAAA queries. `setRecords()` reloads address records in place (SIGHUP re-reads the hosts
 * file), so queries never meet a server that is away; a change of SRV records (which dnsmasq reads
 * only at start) restarts it on the same port. `stop()` takes it away (queries then fail) and
 * `start()` brings it back. Always stop it (`t.after` does so for you).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface SrvEntry {
  /** The target host name (`sharded-svc-0.sharded-svc.ns.svc.cluster.local`). */
  readonly target: string;
  readonly port: number;
  readonly priority?: number;
  readonly weight?: number;
}

export interface DnsRecords {
  /** Name to its addresses, IPv4 (A records) or IPv6 (AAAA records). */
  readonly hosts?: Readonly<Record<string, readonly string[]>>;
  /** SRV name (`_http._tcp.sharded-svc.ns.svc.cluster.local`) to its records. */
  readonly srv?: Readonly<Record<string, readonly SrvEntry[]>>;
}

export interface DnsmasqOptions {
  /** The TTL of every answer (dnsmasq's --local-ttl); 1 s by default. */
  readonly ttlSeconds?: number;
  /** Log every query (dnsmasq's --log-queries), for `queries()`. */
  readonly logQueries?: boolean;
}

export interface Dnsmasq {
  readonly port: number;
  /** `127.0.0.1:<port>`, as `--dns-server` takes it. */
  readonly server: string;
  /** Replaces every record; resolves once the server answers with the new ones. */
  setRecords(records: DnsRecords): Promise<void>;
  /** Stops the server (idempotent); queries to it fail until `start()`. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the current records. */
  start(): Promise<void>;
  /** Queries of `type` (`SRV`, `A`) for `name` answered so far, across restarts; needs `logQueries`. */
  queries(type: string, name: string): number;
}

const ATTEMPTS = 5;
const READY_TIMEOUT_MS = 5_000;

export async function startDnsmasq(t: TestContext, records: DnsRecords, options: DnsmasqOptions = {}): Promise<Dnsmasq> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-dnsmasq-'));
  const conf = join(dir, 'dnsmasq.conf');
  const hostsFile = join(dir, 'hosts');
  const ttl = options.ttlSeconds ?? 1;
  let current = records;
  /** Numbers the hosts file's versions: a reload is done once its sentinel name resolves. */
  let generation = 0;
  const writeHosts = async (r: DnsRecords): Promise<string> => {
    const sentinel = `gen-${++generation}.probe.cluster.local`;
    await writeFile(hostsFile, hostsText(r, sentinel));
    return sentinel;
  };
  let child: ChildProcess | null = null;
  let port = 0;
  /** Every launch's log, for counting queries. */
  let logged = '';

  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  t.after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });

  const launch = async (): Promise<void> => {
    const args = [
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-daemon',
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      `--conf-file=${conf}`,
      `--pid-file=${join(dir, 'dnsmasq.pid')}`,
      '--log-facility=-',
      `--local-ttl=${ttl}`,
      ...(options.logQueries === true ? ['--log-queries'] : []),
    ];
    const c = spawn('dnsmasq', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let log = '';
    const onLog = (d: Buffer): void => {
      log += d.toString();
      logged += d.toString();
    };
    c.stdout.on('data', onLog);
    c.stderr.on('data', onLog);
    const exited = new Promise<never>((_resolve, reject) => {
      c.once('error', reject);
      c.once('exit', (code, signal) => reject(new Error(`dnsmasq on port ${port} exited (${code ?? signal}): ${log.trim()}`)));
    });
    exited.catch(() => undefined);
    await Promise.race([untilAnswering(port, () => c.exitCode === null && c.signalCode === null), exited]);
  };

  const dnsmasq: Dnsmasq = {
    get port() {
      return port;
    },
    get server() {
      return `127.0.0.1:${port}`;
    },
    async setRecords(next) {
      const sameSrv = JSON.stringify(next.srv ?? {}) === JSON.stringify(current.srv ?? {});
      current = next;
      const sentinel = await writeHosts(next);
      const c = child;
      if (sameSrv && c !== null && c.exitCode === null && c.signalCode === null) {
        c.kill('SIGHUP');
        await untilResolves(port, sentinel);
        return;
      }
      await writeFile(conf, configText(next, hostsFile));
      await stop();
      await launch();
    },
    stop,
    async start() {
      if (child !== null) return;
      // The port was free while the server was down: a connection may have been given it as its
      // local port meanwhile. It is released soon; try again for a while.
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        try {
          await launch();
          return;
        } catch (e) {
          await stop();
          if (!String(e).includes('Address already in use') || Date.now() > deadline) throw e;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
    queries(type, name) {
      if (options.logQueries !== true) throw new Error('dnsmasq: queries() needs logQueries: true');
      // dnsmasq logs `query[SRV] NAME from 127.0.0.1` for each query it gets.
      const line = `query[${type}] ${name} from `;
      let n = 0;
      for (let i = logged.indexOf(line); i >= 0; i = logged.indexOf(line, i + line.length)) n++;
      return n;
    },
  };

  await writeHosts(records);
  await writeFile(conf, configText(records, hostsFile));
  let lastError: unknown = null;
  // The free port found may be taken again before dnsmasq binds it (UDP and TCP): try another.
  for (let i = 0; i < ATTEMPTS; i++) {
    port = await freeUdpPort();
    try {
      await launch();
      return dnsmasq;
    } catch (e) {
      lastError = e;
      await stop();
    }
  }
  throw new Error(`dnsmasq did not start in ${ATTEMPTS} attempts (is it installed? bash scripts/ensure-system-deps.sh dnsmasq)`, { cause: lastError });
}

function configText(records: DnsRecords, hostsFile: string): string {
  // Names under cluster.local are answered from here only: unknown ones are NXDOMAIN, not REFUSED.
  const lines = ['local=/cluster.local/', `addn-hosts=${hostsFile}`];
  for (const [name, entries] of Object.entries(records.srv ?? {})) {
    for (const e of entries) lines.push(`srv-host=${name},${e.target},${e.port},${e.priority ?? 0},${e.weight ?? 10}`);
  }
  return lines.join('\n') + '\n';
}

/** The address records as a hosts file, with `sentinel` on 127.0.0.1 to tell this version by. */
function hostsText(records: DnsRecords, sentinel: string): string {
  const lines = [`127.0.0.1 ${sentinel}`];
  for (const [name, addresses] of Object.entries(records.hosts ?? {})) {
    for (const a of addresses) lines.push(`${a} ${name}`);
  }
  return lines.join('\n') + '\n';
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Waits until the server answers `name` with an address: it has read the hosts file that has it. */
async function untilResolves(port: number, name: string): Promise<void> {
  const resolver = new Resolver({ timeout: 100, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await resolver.resolve4(name);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`dnsmasq on port ${port} did not reload its hosts file within ${READY_TIMEOUT_MS} ms`, { cause: e });
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Waits until the server answers a query at all (an NXDOMAIN is an answer). */
async function untilAnswering(port: number, alive: () => boolean): Promise<void> {
  const resolver = new Resolver({ timeout: 100, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await resolver.resolve4('ready.probe.cluster.local');
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') return;
      if (!alive()) throw new Error(`dnsmasq on port ${port} exited before answering`, { cause: e });
      if (Date.now() > deadline) throw new Error(`dnsmasq on port ${port} did not answer within ${READY_TIMEOUT_MS} ms (${String(code)})`, { cause: e });
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
