/**
 * Reads YAML (and so JSON, which YAML 1.2 contains) into plain data, refusing what YAML would
 * otherwise accept quietly: duplicate keys (the later one would win) and several documents in one
 * file. Errors name the file, line and column.
 */
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

/** @throws ConfigError whose field is `file:line:column` */
export function parseYaml(text: string, file: string, code: ErrorCode = 'SG_ERR_CONFIG'): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    throw new ConfigError(code, `${file}:${line}:${col}`, `is not valid YAML: ${first.message}`);
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}
