/**
 * Every error in a config document at once, for `shardgate check`: unknown keys at every level
 * (with their suggestions), then every value the schema refuses, each named by its path; only when
 * those are all right, the checks that need the whole configuration (a key for a keyed balancer,
 * the balancer's own validation, the PEM files), which stop at the first. Startup stops at the
 * first error of all (parseConfig); the messages are the same.
 */
import { ConfigError } from '../errors.js';
import type { LoadedDocument } from './config.js';
import { codeFor, parseConfig } from './config.js';
import { describeIssue, fieldOf, zodErrorMap } from './issues.js';
import { attribute, configError } from './origin.js';
import { documentSchema } from './schema.js';
import { checkTlsFiles } from './tls-files.js';
import { unknownKeys } from './unknown-keys.js';

export async function configProblems(loaded: LoadedDocument): Promise<ConfigError[]> {
  const { document, origin, cwd } = loaded;
  const out: ConfigError[] = [];
  // Mappings that hold an unknown key: zod's complaint about what is missing there follows from it.
  const owners = new Set<string>();
  for (const u of unknownKeys(documentSchema, document)) {
    const field = fieldOf(u.path);
    owners.add(fieldOf(u.path.slice(0, -1)));
    out.push(configError(codeFor(field), field, u.detail, origin));
  }
  const r = documentSchema.safeParse(document, { reportInput: true, error: zodErrorMap });
  if (!r.success) {
    for (const issue of r.error.issues) {
      if (issue.code === 'unrecognized_keys') continue;
      if (issue.code === 'invalid_union' && (owners.has(fieldOf(issue.path)) || owners.has(fieldOf(issue.path.slice(0, -1))))) continue;
      const { field, detail } = describeIssue(issue);
      out.push(configError(codeFor(field), field === '' ? 'config' : field, detail, origin));
    }
  }
  if (out.length > 0) return out;
  let config;
  try {
    config = parseConfig(document, origin, cwd);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return [e];
  }
  try {
    await checkTlsFiles(config.proxy.tls, config.proxy.upstreamTls.caFile);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    out.push(attribute(e, origin));
  }
  return out;
}
