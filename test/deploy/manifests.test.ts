/**
 * The Kubernetes manifests under deploy/, checked against what the proxy relies on: they parse and
 * their names resolve; each Role grants exactly the API calls the real binary makes when run with
 * its container's own arguments against the fake API server; the probes name paths the admin
 * listener answers, on the admin port; the arguments are flags `shardgate serve` takes; and the
 * Dockerfile runs bin/shardgate.js on a pinned base image.
 *
 * The manifests name no namespace (`kubectl apply -n NAMESPACE` places them); these tests apply
 * them, in effect, to NAMESPACE.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { test } from 'node:test';
import { Command, Option } from 'commander';
import { request } from 'undici';
import { parseAllDocuments } from 'yaml';
import { LIVENESS_PATH, PROBE_PATHS, READINESS_PATH } from '../../src/admin/probes.js';
import { attributeName, flagLayer, flagName, SERVE_FLAGS } from '../../src/cli/flags.js';
import { loadConfig } from '../../src/config/config.js';
import type { ShardgateConfig } from '../../src/config/config.js';
import type { K8sDiscoverySpec } from '../../src/discovery/k8s/discovery-spec.js';
import { FakeApiServer, podEndpoint, slice } from '../helpers/fake-apiserver.js';
import type { RecordedRequest } from '../helpers/fake-apiserver.js';
import { writeKubeconfig } from '../helpers/kubeconfig.js';
import { backend, get, ROOT, Served } from '../cli/run.js';

const DEPLOY = join(ROOT, 'deploy');
const NAMESPACE = 'sharding-demo';
/** Directories whose pods run shardgate, each applied on its own. */
const PROXY_DIRS = ['proxy', 'sidecar'];

// The parts of the Kubernetes objects these tests read.
interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
}
interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
}
interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } };
}
interface Probe {
  readonly httpGet?: { readonly path?: string; readonly port: number | string; readonly scheme?: string };
}
interface SecurityContext {
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly allowPrivilegeEscalation?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly capabilities?: { readonly drop?: readonly string[]; readonly add?: readonly string[] };
}
interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly lifecycle?: { readonly preStop?: { readonly sleep?: { readonly seconds: number } } };
  readonly resources?: { readonly requests?: Readonly<Record<string, string>>; readonly limits?: Readonly<Record<string, string>> };
  readonly securityContext?: SecurityContext;
  readonly restartPolicy?: string;
}
interface PodSpec {
  readonly serviceAccountName?: string;
  readonly terminationGracePeriodSeconds?: number;
  readonly securityContext?: SecurityContext;
  readonly containers: readonly Container[];
  readonly initContainers?: readonly Container[];
}
interface Workload extends KubeObject {
  readonly spec: {
    readonly replicas?: number;
    readonly serviceName?: string;
    readonly selector: { readonly matchLabels: Readonly<Record<string, string>> };
    readonly template: { readonly metadata: { readonly labels: Readonly<Record<string, string>> }; readonly spec: PodSpec };
  };
}
interface ServicePort {
  readonly name?: string;
  readonly port: number;
  readonly targetPort?: number | string;
}
interface Service extends KubeObject {
  readonly spec: { readonly clusterIP?: string; readonly publishNotReadyAddresses?: boolean; readonly selector?: Readonly<Record<string, string>>; readonly ports: readonly ServicePort[] };
}
interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}
interface Role extends KubeObject {
  readonly rules: readonly PolicyRule[];
}
interface RoleBinding extends KubeObject {
  readonly roleRef: { readonly apiGroup: string; readonly kind: string; readonly name: string };
  readonly subjects: readonly { readonly kind: string; readonly name: string; readonly namespace?: string }[];
}

interface Manifest {
  /** `proxy/deployment.yaml`. */
  readonly file: string;
  /** The directory under deploy/, applied as one: `proxy`. */
  readonly dir: string;
  readonly object: KubeObject;
}

/** Every object of every YAML file under deploy/, and what failed to parse. */
async function loadManifests(): Promise<{ manifests: Manifest[]; errors: string[] }> {
  const manifests: Manifest[] = [];
  const errors: string[] = [];
  // kustomization.yaml files are kustomize's instructions, not objects to apply (kustomization.test.ts reads them).
  const files = (await readdir(DEPLOY, { recursive: true })).filter((f) => /\.ya?ml$/.test(f) && !/(^|[/\\])kustomization\.ya?ml$/.test(f)).sort();
  for (const file of files) {
    const text = await readFile(join(DEPLOY, file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) {
        errors.push(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
        continue;
      }
      const object = doc.toJS() as unknown;
      // An empty document (a trailing ---) holds nothing to apply.
      if (object === null) continue;
      manifests.push({ file: file.split('\\').join('/'), dir: file.split(/[/\\]/)[0]!, object: object as KubeObject });
    }
  }
  return { manifests, errors };
}

const { manifests, errors: parseErrors } = await loadManifests();

function ofKind<T extends KubeObject>(kind: string, dir?: string): { readonly file: string; readonly dir: string; readonly object: T }[] {
  return manifests.filter((m) => m.object.kind === kind && (dir === undefined || m.dir === dir)) as { file: string; dir: string; object: T }[];
}

function workloads(): { readonly file: string; readonly dir: string; readonly object: Workload }[] {
  return [...ofKind<Workload>('Deployment'), ...ofKind<Workload>('StatefulSet')];
}

function containersOf(pod: PodSpec): Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

function matchesLabels(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The containerPort a probe or Service targetPort names, by number or by name; undefined if the container declares none such. */
function containerPort(c: Container, port: number | string): number | undefined {
  const declared = c.ports ?? [];
  return typeof port === 'number' ? declared.find((p) => p.containerPort === port)?.containerPort : declared.find((p) => p.name === port)?.containerPort;
}

interface ShardgateContainer {
  readonly file: string;
  readonly dir: string;
  readonly workload: Workload;
  readonly container: Container;
  readonly init: boolean;
}

/** Containers running the shardgate image, wherever they are (a Deployment's containers, or a native sidecar). */
const shardgates: ShardgateContainer[] = workloads().flatMap(({ file, dir, object }) =>
  containersOf(object.spec.template.spec)
    .filter((c) => /(^|\/)shardgate:/.test(c.image))
    .map((container) => ({ file, dir, workload: object, container, init: (object.spec.template.spec.initContainers ?? []).includes(container) })),
);

/**
 * The container's arguments as the process sees them. The kubelet expands `$(VAR)` in command and
 * args from the container's env: a defined variable is replaced, `$$` is a literal `$`, and an
 * undefined reference is left as written (so it is reported here instead). Env values may use
 * earlier variables; `valueFrom.fieldRef` reads the pod's own fields (the downward API), given
 * here as a pod of the workload in NAMESPACE.
 * https://kubernetes.io/docs/tasks/inject-data-application/define-interdependent-environment-variables/
 */
function kubeletView(sg: ShardgateContainer): { args: string[]; env: Map<string, string>; undefinedRefs: string[] } {
  const podFields: Readonly<Record<string, string>> = {
    'metadata.namespace': NAMESPACE,
    'metadata.name': `${sg.workload.metadata.name}-0`,
    'spec.serviceAccountName': sg.workload.spec.template.spec.serviceAccountName ?? 'default',
  };
  const env = new Map<string, string>();
  const undefinedRefs: string[] = [];
  const expand = (text: string): string =>
    text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref: string, name: string | undefined) => {
      if (name === undefined) return '$';
      const value = env.get(name);
      if (value === undefined) undefinedRefs.push(ref);
      return value ?? ref;
    });
  for (const v of sg.container.env ?? []) {
    if (v.value !== undefined) env.set(v.name, expand(v.value));
    else if (v.valueFrom?.fieldRef !== undefined) {
      const value = podFields[v.valueFrom.fieldRef.fieldPath];
      assert.ok(value !== undefined, `${sg.file}: env ${v.name} reads ${v.valueFrom.fieldRef.fieldPath}, which this test does not model`);
      env.set(v.name, value);
    } else assert.fail(`${sg.file}: env ${v.name} has a source this test does not model`);
  }
  return { args: (sg.container.args ?? []).map(expand), env, undefinedRefs };
}

/**
 * `shardgate serve` arguments through commander with the same options `serve` declares, then the
 * same flag layer and config loader the command's action uses, in process.
 * @throws CommanderError for an unknown flag or a missing value, ConfigError for a refused value
 */
async function serveConfig(args: readonly string[]): Promise<ShardgateConfig> {
  assert.equal(args[0], 'serve', 'the image runs bin/shardgate.js: its args start with the command');
  const serve = new Command('serve').exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  for (const spec of SERVE_FLAGS) serve.addOption(new Option(spec.syntax, spec.description));
  serve.parse(args.slice(1), { from: 'user' });
  assert.deepEqual(serve.args, [], 'serve takes flags only');
  const given = new Map<string, unknown>();
  for (const spec of SERVE_FLAGS) {
    const attr = attributeName(spec);
    if (serve.getOptionValueSource(attr) === 'cli') given.set(attr, serve.getOptionValue(attr));
  }
  return loadConfig({ flags: flagLayer(given) });
}

async function discoverySpec(sg: ShardgateContainer): Promise<K8sDiscoverySpec> {
  const config = await serveConfig(kubeletView(sg).args);
  assert.ok(config.endpoints.kind === 'k8s', `${sg.file}: shardgate discovers its endpoints with --discovery k8s:..., not ${config.endpoints.kind}`);
  return config.endpoints.spec;
}

/** What must differ on loopback: the listeners, on free ports of 127.0.0.1. Everything else runs as the manifest says. */
const LOOPBACK: Readonly<Record<string, string>> = { '--listen': '127.0.0.1:0', '--admin': '127.0.0.1:0' };

function onLoopback(args: readonly string[]): string[] {
  const out = [...args];
  const replaced = new Set<string>();
  for (let i = 0; i < out.length; i++) {
    const [name, inline] = out[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = LOOPBACK[name];
    if (value === undefined) continue;
    if (inline !== undefined) out[i] = `${name}=${value}`;
    else out[++i] = value;
    replaced.add(name);
  }
  for (const name of Object.keys(LOOPBACK)) assert.ok(replaced.has(name), `the container's args set ${name}`);
  return out;
}

/**
 * A request's RBAC attributes, as the API server derives them
 * (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb):
 * GET of a collection is list, or watch with ?watch=true (or under the old /watch/ prefix); GET of
 * a named object is get; POST create, PUT update, PATCH patch, DELETE delete (deletecollection on a
 * collection). Paths outside /api/v1/... and /apis/GROUP/VERSION/... are non-resource URLs, which
 * no Role can grant.
 */
interface ApiCall {
  readonly verb: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly namespace: string | null;
  readonly name: string | null;
}

function apiCallOf(req: RecordedRequest): ApiCall | { readonly nonResourceUrl: string } {
  const parts = req.path.split('/').filter((p) => p !== '').map(decodeURIComponent);
  let rest: string[];
  let apiGroup: string;
  if (parts[0] === 'api' && parts.length > 2) [apiGroup, rest] = ['', parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length > 3) [apiGroup, rest] = [parts[1]!, parts.slice(3)];
  else return { nonResourceUrl: req.path };
  const legacyWatch = rest[0] === 'watch';
  if (legacyWatch) rest = rest.slice(1);
  let namespace: string | null = null;
  if (rest[0] === 'namespaces' && rest.length > 2) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces' && rest.length === 2) {
    namespace = rest[1]!;
  }
  const name = rest[1] ?? null;
  const resource = rest.length > 2 ? `${rest[0]}/${rest[2]}` : rest[0]!;
  const watch = legacyWatch || req.query.get('watch') === 'true' || req.query.get('watch') === '1';
  const verbs: Readonly<Record<string, string>> = {
    GET: watch ? 'watch' : name === null ? 'list' : 'get',
    HEAD: name === null ? 'list' : 'get',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: name === null ? 'deletecollection' : 'delete',
  };
  return { verb: verbs[req.method] ?? req.method.toLowerCase(), apiGroup, resource, namespace, name };
}

function describeCall(c: ApiCall): string {
  return `${c.verb} ${c.apiGroup === '' ? 'core' : c.apiGroup}/${c.resource}${c.name === null ? '' : `/${c.name}`} in namespace ${c.namespace ?? '(none)'}`;
}

/** Whether a Role in `roleNamespace` with these rules allows the call, as the RBAC authorizer decides. */
function allows(rules: readonly PolicyRule[], roleNamespace: string, c: ApiCall): boolean {
  const has = (list: readonly string[] | undefined, v: string): boolean => list !== undefined && (list.includes(v) || list.includes('*'));
  if (c.namespace !== roleNamespace) return false;
  return rules.some(
    (r) =>
      has(r.verbs, c.verb) &&
      has(r.apiGroups, c.apiGroup) &&
      has(r.resources, c.resource) &&
      (r.resourceNames === undefined || r.resourceNames.length === 0 || (c.name !== null && r.resourceNames.includes(c.name))),
  );
}

/** The Role bound to the workload's ServiceAccount in its own directory: the rules the pod runs with. */
function roleOf(sg: ShardgateContainer): { name: string; namespace: string; rules: readonly PolicyRule[] } {
  const account = sg.workload.spec.template.spec.serviceAccountName;
  assert.ok(account !== undefined, `${sg.file}: the pod names its own serviceAccountName`);
  const bindings = ofKind<RoleBinding>('RoleBinding', sg.dir).filter((b) => b.object.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === account));
  assert.equal(bindings.length, 1, `${sg.dir}/: one RoleBinding binds ServiceAccount ${account}`);
  const ref = bindings[0]!.object.roleRef;
  const role = ofKind<Role>('Role', sg.dir).find((r) => r.object.metadata.name === ref.name && ref.kind === 'Role');
  assert.ok(role !== undefined, `${sg.dir}/: RoleBinding ${bindings[0]!.object.metadata.name} refers to ${ref.kind} ${ref.name}, which is not a Role there`);
  return { name: role.object.metadata.name, namespace: role.object.metadata.namespace ?? NAMESPACE, rules: role.object.rules };
}

async function adminPort(served: Served): Promise<number> {
  const line = await served.waitFor((l) => l.msg === 'admin listening', '"admin listening"');
  return Number(/:(\d+)$/.exec(String(line.address))![1]);
}

/** GETs `path` until it answers 200 (readiness waits for the first endpoint set), bounded. */
async function getUntilOk(port: number, path: string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let status = 0;
  while (Date.now() < deadline) {
    const r = await request(`http://127.0.0.1:${port}${path}`);
    await r.body.dump();
    status = r.statusCode;
    if (status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return status;
}

function probes(c: Container): [string, Probe][] {
  return (
    [
      ['readinessProbe', c.readinessProbe],
      ['livenessProbe', c.livenessProbe],
      ['startupProbe', c.startupProbe],
    ] as const
  ).flatMap(([kind, p]) => (p === undefined ? [] : [[kind, p] as [string, Probe]]));
}

test('deploy: every manifest parses, and every object has apiVersion, kind and metadata.name and leaves the namespace to kubectl apply -n', () => {
  assert.deepEqual(parseErrors, []);
  assert.ok(manifests.length > 0, 'deploy/ holds manifests');
  for (const { file, object } of manifests) {
    for (const field of ['apiVersion', 'kind'] as const) assert.ok(typeof object[field] === 'string' && object[field] !== '', `${file}: an object without ${field}`);
    assert.ok(typeof object.metadata?.name === 'string' && object.metadata.name !== '', `${file}: a ${object.kind} without metadata.name`);
    assert.equal(object.metadata.namespace, undefined, `${file}: ${object.kind} ${object.metadata.name} names a namespace`);
  }
  assert.deepEqual([...new Set(manifests.map((m) => m.dir))].sort(), ['proxy', 'sharded-svc', 'sidecar']);
});

test('deploy: the proxy and the sidecar run shardgate, and no ClusterRole or ClusterRoleBinding comes with them', () => {
  assert.deepEqual(shardgates.map((s) => s.dir).sort(), PROXY_DIRS);
  for (const dir of PROXY_DIRS) {
    for (const kind of ['ClusterRole', 'ClusterRoleBinding']) assert.deepEqual(ofKind(kind, dir).map((m) => m.file), [], `${dir}/ holds a ${kind}`);
  }
});

test('deploy: RoleBindings, ServiceAccounts and Roles resolve within the directory that is applied', () => {
  for (const { file, dir, object } of workloads()) {
    const account = object.spec.template.spec.serviceAccountName;
    if (account === undefined) continue;
    assert.ok(ofKind('ServiceAccount', dir).some((s) => s.object.metadata.name === account), `${file}: serviceAccountName ${account} is not a ServiceAccount in ${dir}/`);
  }
  const bindings = ofKind<RoleBinding>('RoleBinding');
  assert.ok(bindings.length >= PROXY_DIRS.length);
  for (const { file, dir, object } of bindings) {
    assert.equal(object.roleRef.apiGroup, 'rbac.authorization.k8s.io', file);
    assert.equal(object.roleRef.kind, 'Role', `${file}: binds a ${object.roleRef.kind}; shardgate needs only a namespaced Role`);
    assert.ok(ofKind('Role', dir).some((r) => r.object.metadata.name === object.roleRef.name), `${file}: Role ${object.roleRef.name} is not in ${dir}/`);
    assert.ok(object.subjects.length > 0, file);
    for (const s of object.subjects) {
      assert.equal(s.kind, 'ServiceAccount', file);
      assert.ok(ofKind('ServiceAccount', dir).some((a) => a.object.metadata.name === s.name), `${file}: ServiceAccount ${s.name} is not in ${dir}/`);
      assert.ok(s.namespace === undefined || s.namespace === NAMESPACE, `${file}: subject ${s.name} names namespace ${s.namespace}`);
    }
  }
});

test('deploy: every Service selects pods of a workload, on ports their containers declare', () => {
  const services = ofKind<Service>('Service');
  assert.ok(services.length >= 2);
  for (const { file, object: svc } of services) {
    const selector = svc.spec.selector ?? {};
    assert.ok(Object.keys(selector).length > 0, `${file}: Service ${svc.metadata.name} has no selector`);
    const selected = workloads().filter((w) => matchesLabels(selector, w.object.spec.template.metadata.labels));
    assert.ok(selected.length > 0, `${file}: Service ${svc.metadata.name} selects no pod template (${JSON.stringify(selector)})`);
    for (const w of selected) {
      assert.ok(matchesLabels(w.object.spec.selector.matchLabels, w.object.spec.template.metadata.labels), `${w.file}: the selector does not match the pod template`);
      for (const p of svc.spec.ports) {
        const target = p.targetPort ?? p.port;
        assert.ok(containersOf(w.object.spec.template.spec).some((c) => containerPort(c, target) !== undefined), `${file}: port ${p.name ?? p.port} targets ${target}, which no container of ${w.file} declares`);
      }
    }
  }
});

test("deploy: the StatefulSet's serviceName is its headless Service, with not-ready pods left out", () => {
  const sets = ofKind<Workload>('StatefulSet');
  assert.equal(sets.length, 1);
  for (const { file, object: sts } of sets) {
    const svc = ofKind<Service>('Service').find((s) => s.object.metadata.name === sts.spec.serviceName);
    assert.ok(svc !== undefined, `${file}: serviceName ${sts.spec.serviceName} is not a Service in deploy/`);
    assert.equal(svc.object.spec.clusterIP, 'None', `${svc.file}: the governing Service of a StatefulSet is headless`);
    assert.equal(svc.object.spec.publishNotReadyAddresses, false, svc.file);
    assert.ok(matchesLabels(svc.object.spec.selector ?? {}, sts.spec.template.metadata.labels), `${svc.file}: does not select ${sts.metadata.name}'s pods`);
  }
});

test('deploy: every container runs restricted (non-root, read-only root, no privilege escalation, no capabilities), with resources and a pinned image', async () => {
  const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  for (const { file, object } of workloads()) {
    const pod = object.spec.template.spec;
    for (const c of containersOf(pod)) {
      const where = `${file}: container ${c.name}`;
      const sc = c.securityContext ?? {};
      assert.equal(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`);
      assert.notEqual(sc.runAsUser ?? pod.securityContext?.runAsUser, 0, `${where}: runs as root`);
      assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
      assert.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
      assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}: capabilities.drop`);
      assert.equal(sc.capabilities?.add, undefined, `${where}: adds capabilities`);
      for (const r of ['cpu', 'memory']) assert.ok(c.resources?.requests?.[r] !== undefined, `${where}: requests no ${r}`);
      assert.ok(c.resources?.limits?.memory !== undefined, `${where}: no memory limit`);
      const tag = /^[^@]+:([^:/@]+)$/.exec(c.image)?.[1];
      assert.ok(tag !== undefined && tag !== 'latest', `${where}: image ${c.image} is not pinned to a tag`);
    }
  }
  for (const sg of shardgates) assert.equal(sg.container.image, `shardgate:${version}`, `${sg.file}: the image deploy/Dockerfile builds for this version`);
});

for (const sg of shardgates) {
  const where = `${sg.file} ${sg.container.name}`;

  test(`deploy: ${where}: the args are shardgate serve flags, with every $(VAR) defined in env`, async () => {
    assert.equal(sg.container.command, undefined, "the image's ENTRYPOINT runs shardgate; args follow it");
    const { args, undefinedRefs } = kubeletView(sg);
    assert.deepEqual(undefinedRefs, [], 'references the kubelet would leave unexpanded');
    const known = new Set(SERVE_FLAGS.map(flagName));
    for (const a of args.filter((x) => x.startsWith('--'))) assert.ok(known.has(a.split('=')[0]!), `${a} is not a serve flag`);
    const config = await serveConfig(args);
    assert.ok(config.endpoints.kind === 'k8s');
    assert.equal(config.endpoints.spec.namespace, NAMESPACE, 'discovery follows the namespace the pod runs in, which its Role covers');
    assert.equal(config.workers, 1);
    assert.ok(config.admin !== null, 'an --admin listener for the probes');
    assert.ok(['0.0.0.0', '::'].includes(config.admin.host), `--admin ${config.admin.host}: the kubelet probes the pod IP`);
  });

  test(`deploy: ${where}: discovery names the headless Service and its port`, async () => {
    const spec = await discoverySpec(sg);
    const svc = ofKind<Service>('Service').find((s) => s.object.metadata.name === spec.service);
    assert.ok(svc !== undefined, `--discovery names Service ${spec.service}, which is not in deploy/`);
    assert.equal(svc.object.spec.clusterIP, 'None', `${svc.file}: discovery follows a headless Service (one endpoint per pod)`);
    const names = svc.object.spec.ports.map((p) => p.name);
    if (spec.portName === null) assert.equal(names.length, 1, `${svc.file}: without a port name the Service must have one port`);
    else assert.ok(names.includes(spec.portName), `${svc.file}: has no port named ${spec.portName} (has ${names.join(', ')})`);
  });

  test(`deploy: ${where}: readiness and liveness probe /readyz and /healthz on the --admin port`, async () => {
    const config = await serveConfig(kubeletView(sg).args);
    const c = sg.container;
    assert.equal(c.readinessProbe?.httpGet?.path, READINESS_PATH);
    assert.equal(c.livenessProbe?.httpGet?.path, LIVENESS_PATH);
    for (const [kind, p] of probes(c)) {
      assert.ok(p.httpGet !== undefined, `${kind} is an HTTP GET`);
      assert.ok(PROBE_PATHS.includes(p.httpGet.path ?? ''), `${kind} GETs ${p.httpGet.path}, which the admin listener does not answer`);
      assert.ok(p.httpGet.scheme === undefined || p.httpGet.scheme === 'HTTP', `${kind}: the admin listener speaks plain HTTP`);
      const port = containerPort(c, p.httpGet.port);
      assert.ok(port !== undefined, `${kind} probes port ${p.httpGet.port}, which the container does not declare`);
      assert.equal(port, config.admin?.port, `${kind} probes ${port}, but --admin listens on ${config.admin?.port}`);
    }
  });

  test(`deploy: ${where}: the Role allows exactly the API calls shardgate makes with these args, and the probes answer 200`, async (t) => {
    const { args, env } = kubeletView(sg);
    const spec = await discoverySpec(sg);
    const pod = `${spec.service}-0`;
    const podPort = Number((await backend(t, pod)).split(':')[1]);
    const api = await FakeApiServer.start({ tls: true, token: 'service-account-token' });
    t.after(() => api.close());
    const target = { kind: 'Pod', name: pod, namespace: spec.namespace };
    api.apply(slice(spec.namespace, spec.service, `${spec.service}-x7k2p`, [podEndpoint(pod, '127.0.0.1', { targetRef: target })], { [spec.portName ?? 'http']: podPort }));
    const kubeconfig = await writeKubeconfig(t, api);
    const served = new Served(t, onLoopback(args), { ...Object.fromEntries(env), KUBECONFIG: kubeconfig });
    const admin = await adminPort(served);
    const { port } = await served.address();
    await api.watchesStarted(1);
    for (const [kind, p] of probes(sg.container)) assert.equal(await getUntilOk(admin, p.httpGet!.path!), 200, `${kind} ${p.httpGet!.path}`);
    const r = await get(port, { 'x-affinity': 'alice' });
    assert.deepEqual([r.status, r.endpoint], [200, pod], 'routes to the discovered pod');
    assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);

    const role = roleOf(sg);
    const used = new Set<string>();
    for (const req of api.requests) {
      const call = apiCallOf(req);
      assert.ok('verb' in call, `shardgate requested the non-resource URL ${'nonResourceUrl' in call ? call.nonResourceUrl : ''}, which no Role grants`);
      assert.ok(allows(role.rules, role.namespace, call), `Role ${role.name} does not allow ${describeCall(call)}: shardgate needs it`);
      used.add(`${call.apiGroup}/${call.resource}:${call.verb}`);
    }
    assert.ok(used.size > 0, 'shardgate made no API call');
    // Too broad is anything granted but never used. `get` is the exception, granted beside list
    // and watch on the same resource: the conventional read triple, and it reveals nothing a list
    // does not.
    for (const rule of role.rules) {
      assert.equal(rule.nonResourceURLs, undefined, `Role ${role.name} grants non-resource URLs`);
      for (const group of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) {
          for (const verb of rule.verbs) {
            const key = `${group}/${resource}:${verb}`;
            const readAlongside = verb === 'get' && (used.has(`${group}/${resource}:list`) || used.has(`${group}/${resource}:watch`));
            assert.ok(used.has(key) || readAlongside, `Role ${role.name} grants ${verb} on ${group === '' ? 'core' : group}/${resource}, which shardgate never calls: too broad`);
          }
        }
      }
    }
  });
}

test('deploy: the proxy Service sends port 80 to the proxy listener only; the admin port has a Service of its own', async () => {
  const proxy = shardgates.find((s) => s.dir === 'proxy')!;
  const config = await serveConfig(kubeletView(proxy).args);
  const selecting = ofKind<Service>('Service', 'proxy').filter((s) => matchesLabels(s.object.spec.selector ?? {}, proxy.workload.spec.template.metadata.labels));
  const svc = selecting.find((s) => s.object.spec.ports.some((p) => p.name === 'http'));
  assert.ok(svc !== undefined, 'a Service selects the proxy pods on a port named http');
  const http = svc.object.spec.ports.find((p) => p.name === 'http')!;
  assert.equal(http.port, 80);
  assert.equal(containerPort(proxy.container, http.targetPort ?? http.port), config.listen.port, 'port 80 reaches --listen');
  assert.deepEqual(svc.object.spec.ports.map((p) => p.name), ['http'], `${svc.file}: the Service clients use exposes the client port alone`);
  const admins = selecting.filter((s) => s.object.spec.ports.some((p) => p.name === 'admin'));
  assert.equal(admins.length, 1, 'one Service exposes the admin port');
  const adminSvc = admins[0]!;
  assert.notEqual(adminSvc.object.metadata.name, svc.object.metadata.name);
  assert.deepEqual(adminSvc.object.spec.ports.map((p) => p.name), ['admin'], `${adminSvc.file}: the admin Service exposes the admin port alone`);
  const admin = adminSvc.object.spec.ports[0]!;
  assert.equal(containerPort(proxy.container, admin.targetPort ?? admin.port), config.admin?.port, 'the admin port reaches --admin');
});

test('deploy: a PodDisruptionBudget keeps all but one proxy pod serving through voluntary disruptions', () => {
  const proxy = shardgates.find((s) => s.dir === 'proxy')!;
  interface Pdb extends KubeObject {
    readonly spec: { readonly maxUnavailable?: number | string; readonly minAvailable?: number | string; readonly selector: { readonly matchLabels: Readonly<Record<string, string>> } };
  }
  const pdbs = ofKind<Pdb>('PodDisruptionBudget', 'proxy');
  assert.equal(pdbs.length, 1);
  const pdb = pdbs[0]!;
  assert.equal(pdb.object.apiVersion, 'policy/v1');
  assert.ok(matchesLabels(pdb.object.spec.selector.matchLabels, proxy.workload.spec.template.metadata.labels), `${pdb.file}: selects the proxy pods`);
  const selectedElsewhere = workloads().filter((w) => w.object !== proxy.workload && matchesLabels(pdb.object.spec.selector.matchLabels, w.object.spec.template.metadata.labels));
  assert.deepEqual(selectedElsewhere.map((w) => w.file), [], `${pdb.file}: selects other pods too`);
  assert.equal(pdb.object.spec.maxUnavailable, 1);
  assert.ok((proxy.workload.spec.replicas ?? 1) > 1, 'with one replica the budget would block every drain');
});

test('deploy: the proxy ends client connections after a maximum age, so that clients of the ClusterIP Service spread over its replicas', async () => {
  const proxy = shardgates.find((s) => s.dir === 'proxy')!;
  const t = (await serveConfig(kubeletView(proxy).args)).proxy.timeouts;
  assert.ok(t.maxConnectionAgeMs > 0, '--max-connection-age-ms is set');
  assert.ok(t.maxConnectionAgeGraceMs > 0, 'with a bounded grace period');
  const sidecar = shardgates.find((s) => s.dir === 'sidecar')!;
  assert.equal((await serveConfig(kubeletView(sidecar).args)).proxy.timeouts.maxConnectionAgeMs, 0, 'the sidecar serves its own pod over loopback: nothing to spread');
});

test('deploy: the proxy drains before it stops: preStop sleep, then --shutdown-grace-ms, within terminationGracePeriodSeconds', async () => {
  const proxy = shardgates.find((s) => s.dir === 'proxy')!;
  const config = await serveConfig(kubeletView(proxy).args);
  const sleepSeconds = proxy.container.lifecycle?.preStop?.sleep?.seconds ?? 0;
  assert.ok(sleepSeconds > 0, 'a preStop sleep, so that endpoints are removed before the listener stops');
  const grace = proxy.workload.spec.template.spec.terminationGracePeriodSeconds ?? 30;
  const needed = sleepSeconds + config.proxy.timeouts.shutdownGraceMs / 1000;
  assert.ok(grace > needed, `terminationGracePeriodSeconds ${grace} must exceed the preStop sleep and the shutdown grace, ${needed} s`);
  assert.equal(proxy.workload.spec.replicas, 2);
});

test('deploy: the sidecar listens on loopback where the app calls it, and starts before the app', async () => {
  const sidecar = shardgates.find((s) => s.dir === 'sidecar')!;
  const config = await serveConfig(kubeletView(sidecar).args);
  assert.equal(config.listen.host, '127.0.0.1', 'the sidecar serves its own pod only');
  // A native sidecar: an init container without restartPolicy Always would have to exit before the app starts.
  assert.ok(sidecar.init, 'shardgate is an init container');
  assert.equal(sidecar.container.restartPolicy, 'Always');
  const apps = sidecar.workload.spec.template.spec.containers;
  const urls = apps.flatMap((c) => (c.env ?? []).map((v) => v.value ?? '')).filter((v) => v.startsWith('http://'));
  assert.ok(urls.length > 0, 'the app is told where the sidecar is');
  for (const u of urls) assert.equal(new URL(u).host, `${config.listen.host}:${config.listen.port}`, `the app calls ${u}`);
});

/** Dockerfile instructions, continuation lines joined and comments dropped; `stage` counts FROMs from 0. */
function dockerInstructions(text: string): { keyword: string; args: string; stage: number }[] {
  const out: { keyword: string; args: string; stage: number }[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s+(.*)$/.exec(full);
    assert.ok(m !== null, `Dockerfile: cannot read ${JSON.stringify(full)}`);
    const keyword = m[1]!.toUpperCase();
    if (keyword === 'FROM') stage++;
    out.push({ keyword, args: m[2]!, stage });
  }
  return out;
}

test('deploy: the Dockerfile builds on a pinned Node 20 slim image and its ENTRYPOINT runs bin/shardgate.js with what it imports', async () => {
  const instructions = dockerInstructions(await readFile(join(DEPLOY, 'Dockerfile'), 'utf8'));
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const min = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(pkg.engines.node)!.slice(1).map(Number);
  const stages: string[] = [];
  for (const from of instructions.filter((i) => i.keyword === 'FROM')) {
    const [image, asWord, name] = from.args.split(/\s+/).filter((w) => !w.startsWith('--'));
    if (asWord?.toUpperCase() === 'AS' && name !== undefined) stages.push(name);
    const m = /^node:(\d+)\.(\d+)\.(\d+)-(?:[a-z]+-)?slim(@sha256:[0-9a-f]{64})?$/.exec(image!);
    assert.ok(m !== null, `FROM ${image}: a Node slim image pinned to a patch release`);
    const v = m.slice(1, 4).map(Number);
    assert.equal(v[0], min[0], `FROM ${image}: Node ${min[0]}`);
    assert.ok(v[1]! > min[1]! || (v[1] === min[1] && v[2]! >= min[2]!), `FROM ${image}: package.json asks for ${pkg.engines.node}`);
  }
  assert.ok(stages.length > 0, 'a build stage apart from the image that runs');
  const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join(' && ');
  for (const step of ['npm ci', 'npm run build', 'npm prune --omit=dev']) assert.ok(runs.includes(step), `the build runs ${step}`);

  const last = Math.max(...instructions.map((i) => i.stage));
  const final = instructions.filter((i) => i.stage === last);
  const entrypoint = final.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
  assert.ok(entrypoint !== undefined, 'an ENTRYPOINT');
  assert.ok(entrypoint.args.startsWith('['), 'ENTRYPOINT in exec form, so that node itself gets SIGTERM, not a shell');
  assert.deepEqual(JSON.parse(entrypoint.args), ['node', '/app/bin/shardgate.js']);
  const user = final.filter((i) => i.keyword === 'USER').at(-1)?.args ?? '0';
  assert.match(user, /^[1-9]\d*(:\d+)?$/, 'a numeric non-root USER, which runAsNonRoot can verify');

  // What the final image holds: each COPY's destination, resolved against WORKDIR. bin/shardgate.js
  // imports by a relative path, so every copy must keep the package's layout: a source at PATH
  // under its stage's WORKDIR (or the repository root, for the build context) lands at PATH under
  // the final WORKDIR.
  const workdirs = new Map<string, string>();
  const stageNames = new Map<number, string>();
  for (const i of instructions) {
    if (i.keyword === 'FROM') stageNames.set(i.stage, /\sAS\s+(\S+)$/i.exec(i.args)?.[1] ?? String(i.stage));
    if (i.keyword === 'WORKDIR') {
      const name = stageNames.get(i.stage)!;
      workdirs.set(name, posix.resolve(workdirs.get(name) ?? '/', i.args));
    }
  }
  const finalWorkdir = workdirs.get(stageNames.get(last)!) ?? '/';
  const copied: string[] = [];
  for (const i of final.filter((x) => x.keyword === 'COPY' || x.keyword === 'ADD')) {
    const words = i.args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const [dest, ...sources] = words.filter((w) => !w.startsWith('--')).reverse();
    const base = from === undefined ? '/' : (workdirs.get(from) ?? '/');
    for (const source of sources) {
      // The build stage holds the package as this checkout does after a build: whether a source
      // is a directory (whose contents are copied, not itself) is read here.
      const path = posix.relative(base, posix.resolve(base, source));
      const directory = (await stat(join(ROOT, path)).catch(() => assert.fail(`${i.keyword} ${i.args}: the build produces no ${path}`))).isDirectory();
      const into = !directory && (sources.length > 1 || dest!.endsWith('/')) ? posix.join(dest!, posix.basename(source)) : dest!;
      const target = posix.resolve(finalWorkdir, into);
      assert.equal(posix.relative(finalWorkdir, target), path, `${i.keyword} ${i.args}: the image must keep the package's layout`);
      copied.push(target);
    }
  }
  const holds = (path: string): boolean => copied.some((d) => path === d || path.startsWith(`${d}/`));
  const script = '/app/bin/shardgate.js';
  const imported = /^import '([^']+)';$/m.exec(await readFile(join(ROOT, 'bin', 'shardgate.js'), 'utf8'))?.[1];
  assert.ok(imported !== undefined, 'bin/shardgate.js imports the CLI');
  for (const path of [script, posix.resolve(posix.dirname(script), imported), '/app/node_modules', '/app/package.json']) {
    assert.ok(holds(path), `the image does not copy ${path} (copies ${copied.join(', ')})`);
  }
});
