import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Two SAML service providers independent of samlify, for interoperability tests: pysaml2 and
 * OneLogin's python3-saml, both from Debian (`python3-pysaml2`, `python3-onelogin-saml2`; `.ci/run`
 * installs them), driven through small scripts in `test/saml-sp/`. Debian's own Python runs them
 * (`/usr/bin/python3`), whatever `python3` is first on the PATH, since that is where apt puts them.
 */
export const SYSTEM_PYTHON = process.env['GATEHOUSE_SYSTEM_PYTHON'] ?? '/usr/bin/python3';

export type SpLibrary = 'pysaml2' | 'onelogin';
export type SpCommand = 'login' | 'acs' | 'logout' | 'logout-response' | 'slo';

/** What an SP script is configured with (see the scripts' headers for each command's extra fields). */
export interface SpSettings {
  entity_id: string;
  acs_url: string;
  slo_url: string;
  key_file: string;
  cert_file: string;
  /** the IdP's metadata XML */
  idp_metadata: string;
  [field: string]: unknown;
}

const scripts: Record<SpLibrary, string> = {
  pysaml2: fileURLToPath(new URL('../saml-sp/pysaml2_sp.py', import.meta.url)),
  onelogin: fileURLToPath(new URL('../saml-sp/onelogin_sp.py', import.meta.url)),
};

/** Whether Debian's Python and both SP libraries are here (the tests fail with how to install them otherwise). */
export function spLibrariesProblem(): string | undefined {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} is missing`;
  for (const dir of ['/usr/lib/python3/dist-packages/saml2', '/usr/lib/python3/dist-packages/onelogin/saml2']) {
    if (!existsSync(dir)) return `${dir} is missing: apt-get install -y python3-pysaml2 python3-onelogin-saml2 xmlsec1`;
  }
  return undefined;
}

/**
 * Runs one command of an SP script with `settings` on its standard input; answers its JSON. Runs
 * asynchronously: the server under test lives in this process and must keep answering.
 */
export function runSp<T = Record<string, unknown>>(library: SpLibrary, command: SpCommand, settings: SpSettings & Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(SYSTEM_PYTHON, [scripts[library], command], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${library} ${command} exited with ${code}: ${stderr.slice(-2000)}`));
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new Error(`${library} ${command} printed no JSON: ${stdout.slice(0, 500)} ${stderr.slice(-1000)}`));
      }
    });
    child.stdin.end(JSON.stringify(settings));
  });
}
