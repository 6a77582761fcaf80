/**
 * A tiny exec credential plugin, run by `node` as a kubeconfig's `users[].user.exec` runs a real
 * one (gke-gcloud-auth-plugin, kubelogin, aws eks get-token). Its state is files in the directory
 * named by the env var SHARDGATE_PLUGIN_DIR, which the test changes between runs:
 *
 * - `token`: the token to hand out; when missing the plugin fails as a logged-out plugin does
 *   (a message on stderr, exit code 1);
 * - `expires`: an expirationTimestamp to print, if present;
 * - `cert` and `key`: a client certificate to hand out, if present;
 * - `hang`: if present, the plugin never answers, and ignores SIGTERM;
 * - `runs`: one line appended per run: the KUBERNETES_EXEC_INFO it got, and the env var
 *   SHARDGATE_PLUGIN_GREETING (set through the kubeconfig's exec.env).
 *
 * It answers with the apiVersion of the request, as real plugins do. Test use only.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env['SHARDGATE_PLUGIN_DIR'];
if (dir === undefined) {
  process.stderr.write('SHARDGATE_PLUGIN_DIR is not set\n');
  process.exit(2);
}
const info = process.env['KUBERNETES_EXEC_INFO'] ?? '';
appendFileSync(join(dir, 'runs'), JSON.stringify({ info, greeting: process.env['SHARDGATE_PLUGIN_GREETING'] ?? null }) + '\n');
if (existsSync(join(dir, 'hang'))) {
  process.on('SIGTERM', () => undefined);
  setInterval(() => undefined, 60_000);
} else {
  const file = (name: string): string | null => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8').trim() : null);
  const token = file('token');
  const cert = file('cert');
  if (token === null && cert === null) {
    process.stderr.write('error: no cached login for this cluster: run `fake-login` first\n');
    process.exit(1);
  }
  const request = JSON.parse(info) as { apiVersion: string };
  const status: Record<string, string> = {};
  if (token !== null) status['token'] = token;
  if (cert !== null) {
    status['clientCertificateData'] = readFileSync(join(dir, 'cert'), 'utf8');
    status['clientKeyData'] = readFileSync(join(dir, 'key'), 'utf8');
  }
  const expires = file('expires');
  if (expires !== null) status['expirationTimestamp'] = expires;
  process.stdout.write(JSON.stringify({ apiVersion: request.apiVersion, kind: 'ExecCredential', status }) + '\n');
}
