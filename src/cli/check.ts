/**
 * `shardgate check --config FILE` (and `serve --check`): validates a configuration without
 * starting anything. Every error is printed (stderr), each naming its field path, and the exit code
 * is 2; a valid configuration is printed whole as YAML (stdout), every default filled in, which is
 * itself a valid config file; then the warnings, for what is valid but surely wrong
 * (config-warnings.ts), on stderr; exit 0 either way. An endpoints file is read and checked as
 * startup would.
 */
import { readFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { EndpointSpec } from '../balancer/endpoint.js';
import { specOf } from '../balancer/endpoint.js';
import { loadDocument, parseConfig } from '../config/config.js';
import type { LoadOptions, ShardgateConfig } from '../config/config.js';
import { configProblems } from '../config/config-problems.js';
import { configWarnings } from '../config/config-warnings.js';
import { parseEndpointsText } from '../config/endpoints.js';
import { resolvedDocument } from '../config/resolved-document.js';
import { ConfigError } from '../errors.js';

export interface CheckIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/**
 * Resolves to the exit code: 0 valid (warnings or not), 2 invalid.
 * @throws ConfigError when the config file cannot be read or is not a YAML mapping
 */
export async function runCheck(options: LoadOptions, io: CheckIo): Promise<number> {
  const loaded = await loadDocument(options);
  const problems = await configProblems(loaded);
  let config: ShardgateConfig | null = null;
  let endpoints: readonly EndpointSpec[] | null = null;
  if (problems.length === 0) {
    config = parseConfig(loaded.document, loaded.origin, loaded.cwd);
    try {
      endpoints = await knownEndpoints(config);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems.push(e);
    }
  }
  const name = options.configFile ?? 'the configuration';
  if (config === null || problems.length > 0) {
    for (const p of problems) io.stderr.write(`error: ${p.message}\n`);
    io.stderr.write(`${name}: ${problems.length} ${problems.length === 1 ? 'error' : 'errors'}; shardgate would not start with it\n`);
    return 2;
  }
  const warnings = configWarnings(config, endpoints);
  io.stdout.write(stringify(resolvedDocument(config), { lineWidth: 0 }));
  for (const w of warnings) io.stderr.write(`warning: ${w}\n`);
  io.stderr.write(`${name}: valid${warnings.length === 0 ? '' : `, ${warnings.length} ${warnings.length === 1 ? 'warning' : 'warnings'}`}\n`);
  return 0;
}

/**
 * The endpoints when they can be known without running: an inline list, or an endpoints file
 * (read and checked as startup reads it); null for discovery.
 * @throws ConfigError when the endpoints file cannot be read or is not valid
 */
async function knownEndpoints(config: ShardgateConfig): Promise<readonly EndpointSpec[] | null> {
  const e = config.endpoints;
  switch (e.kind) {
    case 'inline':
      return e.specs;
    case 'file': {
      let text: string;
      try {
        text = await readFile(e.path, 'utf8');
      } catch (err) {
        throw new ConfigError('SG_ERR_ENDPOINTS', 'endpointsFile', `is ${JSON.stringify(e.path)}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): shardgate would not start; give the path of a YAML list of endpoints`, { cause: err });
      }
      return parseEndpointsText(text, e.path).endpoints.map(specOf);
    }
    case 'k8s':
    case 'dns':
      return null;
    default: {
      const never: never = e;
      throw new Error(`unknown endpoints kind ${JSON.stringify(never)}`);
    }
  }
}
