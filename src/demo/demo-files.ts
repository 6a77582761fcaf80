/**
 * What `shardgate demo --serve` leaves on disk while it serves, so that other processes can follow
 * the same pods as its proxy: `endpoints.json`, the pods as `--endpoints-file` reads them (and
 * watches: an edit is followed by the demo's proxy and directory, and by any client library, pod
 * helper or `shardgate directory` reading the same file), and `demo.json`, where the examples in
 * examples/ find the proxy, the admin listener and that file. Both are removed when the demo stops.
 */
import { mkdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EndpointSpec } from '../balancer/endpoint.js';
import { errorCode } from '../errors.js';

/** `$TMPDIR/shardgate-demo`: a place the examples find without being told. */
export function defaultDemoDir(): string {
  return join(tmpdir(), 'shardgate-demo');
}

/** The contents of `demo.json`. */
export interface DemoInfo {
  /** The proxy, `http://host:port`. */
  readonly proxy: string;
  /** The admin listener with the directory (`/v1/owner`, `/v1/plan`, `/v1/assignments/watch`) and the probes, `http://host:port`. */
  readonly admin: string;
  /** The endpoints file the proxy follows. */
  readonly endpointsFile: string;
  /** The request header that carries the key. */
  readonly keyHeader: string;
  /** The config fragment that decides owners (endpointsFile, balancer, key): routers built from it agree with the demo's proxy. */
  readonly config: Readonly<Record<string, unknown>>;
}

export class DemoFiles {
  readonly dir: string;
  readonly endpointsFile: string;
  readonly infoFile: string;
  #madeDir = false;

  constructor(dir: string) {
    this.dir = dir;
    this.endpointsFile = join(dir, 'endpoints.json');
    this.infoFile = join(dir, 'demo.json');
  }

  /** Writes the endpoints file, creating the folder if need be. */
  async writeEndpoints(pods: readonly EndpointSpec[]): Promise<void> {
    this.#madeDir = (await mkdir(this.dir, { recursive: true })) !== undefined;
    await replace(this.endpointsFile, JSON.stringify(pods, null, 2));
  }

  async writeInfo(info: DemoInfo): Promise<void> {
    await replace(this.infoFile, JSON.stringify(info, null, 2));
  }

  /** Removes both files, and the folder when the demo made it and nothing else is in it. */
  async remove(): Promise<void> {
    await rm(this.infoFile, { force: true });
    await rm(this.endpointsFile, { force: true });
    if (!this.#madeDir) return;
    try {
      await rmdir(this.dir);
    } catch (e) {
      // Someone put a file of their own there: it is theirs to keep.
      if (errorCode(e) !== 'ENOTEMPTY' && errorCode(e) !== 'ENOENT') throw e;
    }
  }
}

/** Whole or not at all: a reader (the watched-file source, an example) never sees half a file. */
async function replace(file: string, text: string): Promise<void> {
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, `${text}\n`);
  await rename(partial, file);
}
