/**
 * The EndpointSlice (discovery.k8s.io/v1) fields discovery reads, and how a Service's slices become
 * endpoints: merged across slices, the named port chosen, conditions mapped to serving, draining
 * or out. Pure: no I/O.
 *
 * Conditions (https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/#conditions):
 * `ready` serves; `serving && terminating` drains (in-flight requests finish, no new keys); anything
 * else is out. A missing `ready` or `serving` means true, as the API documents ("nil should be
 * interpreted as true"); a missing `terminating` means false.
 *
 * Identity: an endpoint is named by its pod (`targetRef.name`), or else its `hostname` (the
 * StatefulSet pod's name), never by its address, so a pod restarted with a new IP keeps its keys.
 */
import type { EndpointSpec } from '../../balancer/endpoint.js';

export interface EndpointSlice {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly resourceVersion?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly addressType: 'IPv4' | 'IPv6' | 'FQDN';
  readonly endpoints?: readonly SliceEndpoint[] | null;
  readonly ports?: readonly SlicePort[] | null;
}

export interface SliceEndpoint {
  readonly addresses: readonly string[];
  readonly conditions?: { readonly ready?: boolean | null; readonly serving?: boolean | null; readonly terminating?: boolean | null } | null;
  readonly hostname?: string | null;
  readonly targetRef?: { readonly kind?: string; readonly name?: string; readonly namespace?: string } | null;
  readonly nodeName?: string | null;
  readonly zone?: string | null;
}

export interface SlicePort {
  readonly name?: string | null;
  readonly port?: number | null;
  readonly protocol?: string | null;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface SliceEndpoints {
  /** Unsorted; `createEndpointSet` sorts. */
  readonly endpoints: EndpointSpec[];
  /** What could not be used and why, one line each (a slice without the port, an unnamed endpoint). */
  readonly problems: string[];
}

/**
 * The endpoints of a Service from all its slices. An endpoint listed in two slices (as happens
 * while the controller moves it) counts once: a serving entry wins over a draining one, then the
 * slice whose name sorts first, so the result does not depend on the order slices arrive in.
 */
export function endpointsFromSlices(slices: Iterable<EndpointSlice>, portName: string | null): SliceEndpoints {
  const ordered = [...slices].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  const byName = new Map<string, EndpointSpec>();
  const problems: string[] = [];
  for (const slice of ordered) {
    const port = choosePort(slice, portName);
    if (typeof port === 'string') {
      // A slice with no endpoints has no ports either (the controller's placeholder): not a problem.
      if ((slice.endpoints ?? []).length > 0) problems.push(`EndpointSlice ${slice.metadata.name}: ${port}`);
      continue;
    }
    for (const ep of slice.endpoints ?? []) {
      const state = stateOf(ep);
      if (state === 'out') continue;
      const name = ep.targetRef?.name ?? ep.hostname ?? null;
      const address = ep.addresses[0];
      if (name === null || name.length === 0) {
        problems.push(`EndpointSlice ${slice.metadata.name}: endpoint ${address ?? '(no address)'} has neither targetRef.name nor hostname; keys need a stable name, so it is left out`);
        continue;
      }
      if (address === undefined) continue;
      const spec: EndpointSpec = {
        name,
        address: slice.addressType === 'IPv6' ? `[${address}]:${port}` : `${address}:${port}`,
        zone: ep.zone ?? null,
        node: ep.nodeName ?? null,
        draining: state === 'draining',
      };
      const had = byName.get(name);
      if (had === undefined || (had.draining === true && !spec.draining)) byName.set(name, spec);
    }
  }
  return { endpoints: [...byName.values()], problems };
}

function stateOf(ep: SliceEndpoint): 'serving' | 'draining' | 'out' {
  const c = ep.conditions ?? {};
  const ready = c.ready ?? true;
  const serving = c.serving ?? ready;
  const terminating = c.terminating ?? false;
  if (terminating) return serving ? 'draining' : 'out';
  return ready ? 'serving' : 'out';
}

/** The port number, or why there is none. */
function choosePort(slice: EndpointSlice, portName: string | null): number | string {
  const ports = (slice.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP' && typeof p.port === 'number');
  if (portName !== null) {
    const p = ports.find((q) => q.name === portName);
    if (p === undefined) return `has no TCP port named "${portName}" (ports: ${describePorts(ports)}); name one of them in the discovery spec`;
    return p.port!;
  }
  if (ports.length === 1) return ports[0]!.port!;
  if (ports.length === 0) return 'has no TCP port';
  return `has several TCP ports (${describePorts(ports)}); name one: k8s:NAMESPACE/SERVICE:PORT_NAME`;
}

function describePorts(ports: readonly SlicePort[]): string {
  return ports.length === 0 ? 'none' : ports.map((p) => `${p.name ?? '""'}=${String(p.port)}`).join(', ');
}
