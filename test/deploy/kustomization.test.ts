/**
 * The kustomizations under deploy/, built by the real `kubectl kustomize` (skipped, saying so, only
 * where kubectl is not installed): deploy/ as a whole builds every manifest and nothing else, each
 * directory builds on its own, and the shardgate image is named in one place, the image component,
 * whose change reaches every container that runs it.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments, parse } from 'yaml';
import { ROOT } from '../cli/run.js';

const DEPLOY = join(ROOT, 'deploy');

interface Obj {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec?: { readonly template?: { readonly spec?: { readonly containers?: readonly { readonly name: string; readonly image: string }[]; readonly initContainers?: readonly { readonly name: string; readonly image: string }[] } } };
}

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const skip = kubectl.error !== undefined ? 'kubectl is not installed: the kustomizations under deploy/ are not built' : false;

function kustomize(dir: string): Promise<Obj[]> {
  return new Promise((resolve, reject) => {
    execFile('kubectl', ['kustomize', dir], { timeout: 60_000, maxBuffer: 16 * 1_048_576 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`kubectl kustomize ${dir} failed: ${stderr}`));
      else resolve(parseAllDocuments(stdout).map((d) => d.toJS() as Obj).filter((o) => o !== null));
    });
  });
}

function ids(objects: readonly Obj[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

function images(objects: readonly Obj[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of objects) {
    const pod = o.spec?.template?.spec;
    for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) out.set(`${o.metadata.name}/${c.name}`, c.image);
  }
  return out;
}

/** The objects of every manifest file under `dir`, kustomization files aside. */
async function manifestObjects(dir: string): Promise<Obj[]> {
  const files = (await readdir(dir, { recursive: true })).filter((f) => /\.ya?ml$/.test(f) && !/(^|\/)kustomization\.ya?ml$/.test(f));
  const out: Obj[] = [];
  for (const f of files) for (const d of parseAllDocuments(await readFile(join(dir, f), 'utf8'))) if (d.toJS() !== null) out.push(d.toJS() as Obj);
  return out;
}

test('deploy: kubectl kustomize deploy/ builds every manifest, and nothing else, without a namespace', { skip }, async () => {
  const built = await kustomize(DEPLOY);
  assert.deepEqual(ids(built), ids(await manifestObjects(DEPLOY)), 'every manifest file is a resource of some kustomization');
  for (const o of built) assert.equal(o.metadata.namespace, undefined, `${o.kind}/${o.metadata.name}: kubectl apply -n places it`);
  const kinds = new Set(built.map((o) => o.kind));
  for (const kind of ['Deployment', 'StatefulSet', 'PodDisruptionBudget', 'Service', 'Role', 'RoleBinding', 'ServiceAccount']) assert.ok(kinds.has(kind), `builds a ${kind}`);
});

test('deploy: each directory builds on its own, with the objects of its own files', { skip }, async () => {
  for (const dir of ['proxy', 'sidecar', 'sharded-svc']) {
    assert.deepEqual(ids(await kustomize(join(DEPLOY, dir))), ids(await manifestObjects(join(DEPLOY, dir))), `deploy/${dir}/`);
  }
});

test('deploy: the shardgate image is named once, in the image component: this version, and a change there reaches every container that runs it', { skip }, async (t) => {
  const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const component = parse(await readFile(join(DEPLOY, 'image', 'kustomization.yaml'), 'utf8')) as { kind: string; images: { name: string; newName?: string; newTag?: string }[] };
  assert.equal(component.kind, 'Component');
  assert.deepEqual(component.images, [{ name: 'shardgate', newName: 'shardgate', newTag: version }]);
  const before = images(await kustomize(DEPLOY));
  const shardgate = [...before].filter(([, image]) => /^shardgate:/.test(image)).map(([where]) => where).sort();
  assert.deepEqual(shardgate, ['sharded-client/shardgate', 'shardgate/shardgate'], 'the proxy and the sidecar run shardgate');
  for (const where of shardgate) assert.equal(before.get(where), `shardgate:${version}`);

  const copy = await mkdtemp(join(tmpdir(), 'shardgate-deploy-'));
  t.after(() => rm(copy, { recursive: true, force: true }));
  await cp(DEPLOY, copy, { recursive: true });
  const edited = (await readFile(join(copy, 'image', 'kustomization.yaml'), 'utf8')).replace(/newName: shardgate\n/, 'newName: registry.example.com/team/shardgate\n').replace(/newTag: .*\n/, 'newTag: 9.9.9\n');
  await writeFile(join(copy, 'image', 'kustomization.yaml'), edited);
  for (const dir of ['', 'proxy', 'sidecar']) {
    const after = images(await kustomize(join(copy, dir)));
    for (const [where, image] of after) {
      const expected = shardgate.includes(where) ? 'registry.example.com/team/shardgate:9.9.9' : before.get(where);
      assert.equal(image, expected, `deploy/${dir}: ${where}`);
    }
  }
});
