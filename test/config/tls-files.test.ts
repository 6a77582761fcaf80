import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { checkTlsFiles, readPem } from '../../src/config/tls-files.js';
import { ConfigError } from '../../src/errors.js';
import { TEST_CERT, TEST_KEY } from '../helpers/tls-fixture.js';

/** Writes each file into a directory of the test's own; returns their paths by name. */
async function files(t: TestContext, contents: Readonly<Record<string, string | Buffer>>): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(contents)) {
    paths[name] = join(dir, name);
    await writeFile(paths[name], content);
  }
  return paths;
}

function refusal(field: string, message: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof ConfigError, `a ConfigError, got ${String(e)}`);
    assert.equal(e.code, 'SG_ERR_CONFIG');
    assert.equal(e.field, field);
    assert.match(e.message, message);
    return true;
  };
}

const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

test('checkTlsFiles: a certificate, its key and a CA bundle in PEM pass; nothing to check passes', async (t) => {
  const f = await files(t, { 'cert.pem': TEST_CERT, 'key.pem': TEST_KEY, 'ca.pem': TEST_CERT + TEST_CERT });
  await checkTlsFiles({ certFile: f['cert.pem']!, keyFile: f['key.pem']! }, f['ca.pem']!);
  await checkTlsFiles(null, null);
});

test('checkTlsFiles: a certificate or CA file that is not PEM certificates is refused naming the field, the file and what it must hold', async (t) => {
  const der = new X509Certificate(TEST_CERT).raw;
  const f = await files(t, { 'cert.pem': TEST_CERT, 'key.pem': TEST_KEY, 'text.txt': 'hello\n', 'cert.der': der, 'broken.pem': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' });
  const key = f['key.pem']!;
  for (const name of ['text.txt', 'cert.der', 'key.pem']) {
    const path = f[name]!;
    await assert.rejects(checkTlsFiles({ certFile: path, keyFile: key }, null), refusal('proxy.tls.cert', new RegExp(`^proxy\\.tls\\.cert: ${path.replace(/[.]/g, '\\.')} is not a PEM certificate: it holds no "-----BEGIN CERTIFICATE-----" block; give the certificate, then any intermediate certificates, in PEM`)), name);
    await assert.rejects(checkTlsFiles(null, path), refusal('proxy.upstreamTls.ca', /is not a PEM certificate: it holds no "-----BEGIN CERTIFICATE-----" block; give the CA certificates to trust, in PEM/), name);
  }
  await assert.rejects(checkTlsFiles({ certFile: f['broken.pem']!, keyFile: key }, null), refusal('proxy.tls.cert', /broken\.pem is not a PEM certificate: certificate 1 in it cannot be read \(.+\); give/));
  await assert.rejects(checkTlsFiles({ certFile: join(f['cert.pem']!, '..', 'absent.pem'), keyFile: key }, null), refusal('proxy.tls.cert', /absent\.pem cannot be read \(ENOENT\): give a PEM file/));
});

test('checkTlsFiles: a key that is not a PEM private key, is encrypted, or is not the certificate\'s is refused naming the field and the file', async (t) => {
  const encrypted = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' });
  const f = await files(t, { 'cert.pem': TEST_CERT, 'text.txt': 'hello\n', 'encrypted.pem': encrypted, 'other.pem': otherKey.export({ type: 'pkcs8', format: 'pem' }) });
  const certFile = f['cert.pem']!;
  await assert.rejects(checkTlsFiles({ certFile, keyFile: f['text.txt']! }, null), refusal('proxy.tls.key', /text\.txt is not a PEM private key: give the certificate's private key in PEM \(-----BEGIN PRIVATE KEY-----, or RSA or EC PRIVATE KEY\)/));
  await assert.rejects(checkTlsFiles({ certFile, keyFile: certFile }, null), refusal('proxy.tls.key', /cert\.pem is not a PEM private key/));
  await assert.rejects(checkTlsFiles({ certFile, keyFile: f['encrypted.pem']! }, null), refusal('proxy.tls.key', /encrypted\.pem is an encrypted private key, and shardgate takes no passphrase: give the key unencrypted/));
  await assert.rejects(checkTlsFiles({ certFile, keyFile: f['other.pem']! }, null), refusal('proxy.tls.key', new RegExp(`other\\.pem does not match the certificate in ${certFile.replace(/[.]/g, '\\.')} \\(proxy\\.tls\\.cert\\): give the private key the certificate was issued for`)));
});

test('readPem: the bytes of a readable file; an unreadable one names the field and the file', async (t) => {
  const f = await files(t, { 'cert.pem': TEST_CERT });
  assert.equal((await readPem(f['cert.pem']!, 'proxy.tls.cert')).toString(), TEST_CERT);
  await assert.rejects(readPem(`${f['cert.pem']!}.absent`, 'proxy.tls.cert'), refusal('proxy.tls.cert', /cert\.pem\.absent cannot be read \(ENOENT\): give a PEM file/));
});
