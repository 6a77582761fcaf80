/**
 * Scene 1, the problem: a keep-alive client behind a connection-level balancer. kube-proxy picks a
 * pod when a connection opens; one long-lived connection therefore pins every request to one pod,
 * the talk's `{"pod":"pod-0","request_count":100}`. The same balancer with a new connection per
 * request (`hey -disable-keepalive`) spreads them, which shows that the balancer is fair and the
 * connection is what defeats it.
 */
import { Client } from 'undici';
import type { Rng } from '../balancer/rng.js';
import { IptablesForwarder, iptablesProbabilities } from './iptables-forwarder.js';
import type { PodFleet } from './pods.js';
import type { Report } from './report.js';
import { sendSequential, withDispatcher } from './traffic.js';

export interface ConnectionBalancingResult {
  /** Requests each pod served over the one keep-alive connection, by pod name. */
  readonly keepAlive: ReadonlyMap<string, number>;
}

export async function showConnectionBalancing(fleet: PodFleet, report: Report, rng: Rng, requests: number): Promise<ConnectionBalancingResult> {
  const n = fleet.pods.length;
  const forwarder = new IptablesForwarder(fleet.pods.map((p) => ({ name: p.name, ...p.listening })), rng);
  const { host, port } = await forwarder.listen(0, '127.0.0.1');
  const origin = `http://${host}:${port}`;
  try {
    fleet.reset();
    // A Client is one connection with one request at a time: the talk's `hey -c 1`.
    const replies = await withDispatcher(new Client(origin), (c) => sendSequential(c, requests));
    const last = replies[replies.length - 1];
    const keepAlive = new Map(fleet.pods.map((p) => [p.name, p.requestCount]));
    const keepAliveConns = [...forwarder.stats.connections];

    fleet.reset();
    await withDispatcher(new Client(origin), (c) => sendSequential(c, requests, undefined, { newConnection: true }));
    const perRequest = fleet.pods.map((p) => p.requestCount);

    const rules = iptablesProbabilities(n).map((p) => (p === 1 ? '1' : p.toFixed(3))).join(', ');
    report.section('The problem: a Service balances connections, not requests');
    report.say(
      `kube-proxy picks a pod once per TCP connection (iptables rules with probability ${rules}).`,
      `One keep-alive client sends ${requests} requests, one at a time, through such a balancer.`,
      `Its last reply: ${last === undefined ? '-' : JSON.stringify({ pod: last.pod, request_count: last.requestCount })}`,
    );
    report.table(
      [{ header: 'pod' }, { header: 'requests', align: 'right' }, { header: 'connections', align: 'right' }],
      fleet.pods.map((p, i) => [p.name, String(keepAlive.get(p.name)), String(keepAliveConns[i])]),
    );
    report.say(
      `The same balancer with a new connection per request (hey -disable-keepalive): ${perRequest.join(' / ')}.`,
      'The balancer is fair to connections; a long-lived connection is what pins every request to one pod.',
    );
    return { keepAlive };
  } finally {
    await forwarder.close();
  }
}
