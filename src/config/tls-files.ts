/**
 * The PEM files a config names: the listener's certificate chain and key (`proxy.tls`, --tls-cert
 * and --tls-key) and the CA bundle trusted toward https:// and h2:// endpoints
 * (`proxy.upstreamTls.ca`, --upstream-ca). loadConfig reads and checks them, so that a file that is
 * not what its flag says fails the start as a configuration error (exit 2) naming the field, the
 * file and what it must hold. Unchecked, the listener failed with OpenSSL's words (exit 1), and a
 * CA file without a certificate in it was taken without a word, trusting no endpoint at all.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError, errorCode } from '../errors.js';

const CERT_FIELD = 'proxy.tls.cert';
const KEY_FIELD = 'proxy.tls.key';
const CA_FIELD = 'proxy.upstreamTls.ca';

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
// PKCS#8 (ENCRYPTED PRIVATE KEY) or the older OpenSSL form with its Proc-Type header.
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;

/**
 * Reads and checks the listener's certificate and key (when TLS is on) and the CA bundle (when
 * one is named): certificates must parse, the key must be an unencrypted private key, and it must
 * be the certificate's.
 * @throws ConfigError naming `proxy.tls.cert`, `proxy.tls.key` or `proxy.upstreamTls.ca` and the file
 */
export async function checkTlsFiles(tls: { readonly certFile: string; readonly keyFile: string } | null, caFile: string | null): Promise<void> {
  if (tls !== null) {
    const cert = await readPem(tls.certFile, CERT_FIELD);
    checkCertificates(cert, tls.certFile, CERT_FIELD, 'the certificate, then any intermediate certificates');
    const key = await readPem(tls.keyFile, KEY_FIELD);
    checkPrivateKey(key, tls.keyFile);
    try {
      createSecureContext({ cert, key });
    } catch (e) {
      const mismatch = errorCode(e) === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH';
      throw new ConfigError(
        'SG_ERR_CONFIG',
        KEY_FIELD,
        `${tls.keyFile} ${mismatch ? 'does not match' : `cannot be used (${opensslReason(e)}) with`} the certificate in ${tls.certFile} (${CERT_FIELD}): give the private key the certificate was issued for`,
        { cause: e },
      );
    }
  }
  if (caFile !== null) checkCertificates(await readPem(caFile, CA_FIELD), caFile, CA_FIELD, 'the CA certificates to trust');
}

/**
 * The bytes of a PEM file named by config at `field`.
 * @throws ConfigError naming `field` and the file when it cannot be read
 */
export async function readPem(path: string, field: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new ConfigError('SG_ERR_CONFIG', field, `${path} cannot be read (${errorCode(e) ?? String(e)}): give a PEM file`, { cause: e });
  }
}

/**
 * TLS options toward `https://` and `h2://` endpoints from `proxy.upstreamTls`: the CA file's
 * certificates to trust (the system's when none is named), or no checking at all with `insecure`.
 * @throws ConfigError naming proxy.upstreamTls.ca when the file cannot be read
 */
export async function readUpstreamTls(upstreamTls: { readonly caFile: string | null; readonly insecure: boolean }): Promise<ConnectionOptions> {
  return {
    ...(upstreamTls.caFile === null ? {} : { ca: await readPem(upstreamTls.caFile, CA_FIELD) }),
    ...(upstreamTls.insecure ? { rejectUnauthorized: false } : {}),
  };
}

/** One certificate at least, each parsed; `expected` says what the file should hold. */
function checkCertificates(pem: Buffer, path: string, field: string, expected: string): void {
  const blocks = pem.toString('latin1').match(CERTIFICATE_BLOCK) ?? [];
  const fix = `give ${expected}, in PEM`;
  if (blocks.length === 0) throw new ConfigError('SG_ERR_CONFIG', field, `${path} is not a PEM certificate: it holds no "-----BEGIN CERTIFICATE-----" block; ${fix}`);
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (e) {
      throw new ConfigError('SG_ERR_CONFIG', field, `${path} is not a PEM certificate: certificate ${i + 1} in it cannot be read (${opensslReason(e)}); ${fix}`, { cause: e });
    }
  });
}

function checkPrivateKey(pem: Buffer, path: string): void {
  // Looked for first: OpenSSL would ask for the passphrase, on a terminal if there is one.
  if (ENCRYPTED_KEY.test(pem.toString('latin1'))) {
    throw new ConfigError('SG_ERR_CONFIG', KEY_FIELD, `${path} is an encrypted private key, and shardgate takes no passphrase: give the key unencrypted, in PEM (openssl pkey -in ${path} -out key.pem)`);
  }
  try {
    createPrivateKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new ConfigError('SG_ERR_CONFIG', KEY_FIELD, `${path} is not a PEM private key: give the certificate's private key in PEM (-----BEGIN PRIVATE KEY-----, or RSA or EC PRIVATE KEY)`, { cause: e });
  }
}

/** OpenSSL's reason without its `error:0480006C:` prefix: `PEM routines::no start line`. */
function opensslReason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/^error:[0-9A-F]+:/, '');
}
