/**
 * A throwaway certificate authority and a certificate for `localhost` and `127.0.0.1` signed by it,
 * made with openssl in a directory of the caller's (`ca.pem`, `server.pem`, `server.key`). For the
 * TLS tests: Redis over TLS, and the HTTPS endpoints Gatehouse calls.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Makes the files in `dir`; false when openssl is missing (the TLS tests are skipped then, except in CI). */
export function makeCertificates(dir: string): boolean {
  const openssl = (...args: string[]) => spawnSync('openssl', args, { cwd: dir, stdio: 'ignore' }).status === 0;
  if (!openssl('version')) {
    if (process.env.CI) throw new Error('openssl is needed for the TLS tests');
    return false;
  }
  writeFileSync(join(dir, 'ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  return (
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=Gatehouse test CA') &&
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost') &&
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'ext')
  );
}
