/**
 * The `shardgate:` gRPC target: which endpoint source a channel follows. grpc-js hands a resolver
 * its target split as `scheme:[//authority/]path` (grpc-js uri-parser.ts); the path names the
 * source in the forms of shardgate's own `--discovery`, `--endpoints` and `--endpoints-file`, with
 * a `/` after the kind, and the authority, as in grpc's own `dns://SERVER/NAME`, names the DNS
 * server to ask:
 *
 * | target                                      | endpoints                                              |
 * |---------------------------------------------|--------------------------------------------------------|
 * | `shardgate:k8s/NAMESPACE/SERVICE[:PORT]`     | a Service's EndpointSlices, watched; PORT is its name  |
 * | `shardgate:dns/HOST:PORT`                    | A/AAAA records of a headless Service, each on PORT     |
 * | `shardgate:srv/NAME`                         | SRV records: each pod under its own host name          |
 * | `shardgate://SERVER/dns/...`, `.../srv/...`  | the same, asking the DNS server SERVER (`host[:port]`) |
 * | `shardgate:static/NAME=HOST:PORT,...`        | a fixed list                                           |
 * | `shardgate:file/PATH`                        | a YAML or JSON endpoints file, watched                 |
 *
 * A target becomes the fields of a config document (`discovery`, `dnsServer`, `endpoints`,
 * `endpointsFile`), so that the source is opened, and its names and addresses checked, by the same
 * code as for `shardgate serve`. Parsed when a channel is made, never per call.
 */
import type { experimental } from '@grpc/grpc-js';
import { splitEndpointsFlag } from '../../config/endpoints.js';
import { ConfigError } from '../../errors.js';
import { parseDnsTarget } from '../../discovery/dns/dns-target.js';
import { parseK8sDiscoverySpec } from '../../discovery/k8s/discovery-spec.js';
import { formatHostPort, parseEndpointAddress } from '../../proxy/address.js';

export const SCHEME = 'shardgate';

/** The config-document fields a target sets: exactly one source. */
export interface TargetDocument {
  readonly discovery?: string;
  readonly dnsServer?: string;
  readonly endpoints?: readonly { readonly name: string; readonly address: string }[];
  readonly endpointsFile?: string;
}

export interface ShardgateTarget {
  /** The target as written, for messages. */
  readonly text: string;
  readonly document: TargetDocument;
  /** The `:authority` of calls unless the channel sets `grpc.default_authority`. */
  readonly authority: string;
}

const FORMS =
  'write shardgate:k8s/NAMESPACE/SERVICE[:PORT_NAME], shardgate:dns/HOST:PORT, shardgate:srv/NAME (either DNS form may name a server: shardgate://10.96.0.10/srv/NAME), shardgate:static/NAME=HOST:PORT,... or shardgate:file/PATH';

/**
 * Reads a target as grpc-js split it.
 * @throws ConfigError SG_ERR_CONFIG naming `target`, the value and the forms
 */
export function parseShardgateTarget(uri: experimental.GrpcUri): ShardgateTarget {
  const authority = uri.authority === undefined || uri.authority === '' ? null : uri.authority;
  const text = `${SCHEME}:${authority === null ? '' : `//${authority}/`}${uri.path}`;
  const refuse = (why: string): never => {
    throw new ConfigError('SG_ERR_CONFIG', 'target', `is ${JSON.stringify(text)}: ${why}`);
  };
  if (uri.scheme !== SCHEME) refuse(`the scheme is not ${SCHEME}: ${FORMS}`);
  const slash = uri.path.indexOf('/');
  const kind = slash < 0 ? uri.path : uri.path.slice(0, slash);
  const rest = slash < 0 ? '' : uri.path.slice(slash + 1);
  if (rest === '') refuse(`it names no source after the kind: ${FORMS}`);
  if (authority !== null && kind !== 'dns' && kind !== 'srv') {
    refuse(`only dns/ and srv/ targets take an authority (//${authority}/, the DNS server to ask): ${FORMS}`);
  }
  // The sources' own parsers check each form; their messages are kept, under this field.
  const checked = <T>(parse: () => T): T => {
    try {
      return parse();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return refuse(e.message);
    }
  };
  switch (kind) {
    case 'k8s': {
      const spec = checked(() => parseK8sDiscoverySpec(`k8s:${rest}`, 'k8s'));
      return { text, document: { discovery: `k8s:${rest}` }, authority: `${spec.service}.${spec.namespace}.svc` };
    }
    case 'dns':
    case 'srv': {
      const target = checked(() => parseDnsTarget(`${kind}:${rest}`, kind));
      const document = authority === null ? { discovery: `${kind}:${rest}` } : { discovery: `${kind}:${rest}`, dnsServer: authority };
      return { text, document, authority: target.kind === 'dns' ? `${target.host}:${target.port}` : serviceHost(target.name) };
    }
    case 'static': {
      const endpoints = checked(() => splitEndpointsFlag(rest, 'static'));
      // The first pod's address, as grpc-js's own ipv4: and ipv6: targets take theirs.
      const first = checked(() => parseEndpointAddress(endpoints[0]!.address, 'endpoints[0].address'));
      return { text, document: { endpoints }, authority: formatHostPort(first) };
    }
    case 'file':
      return { text, document: { endpointsFile: rest }, authority: 'localhost' };
    default:
      return refuse(`${JSON.stringify(kind)} is not a source: ${FORMS}`);
  }
}

/** `_grpc._tcp.sharded-svc.ns.svc.cluster.local` -> `sharded-svc.ns.svc.cluster.local`. */
function serviceHost(srvName: string): string {
  const labels = srvName.split('.');
  let i = 0;
  while (i < labels.length - 1 && labels[i]!.startsWith('_')) i++;
  return labels.slice(i).join('.');
}
