import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

/**
 * Passkeys in the account console (issue 10) over real HTTP, answered by the soft authenticator;
 * and the WebAuthn browser library, which Gatehouse serves itself.
 */
let gh: TestGatehouse;

beforeAll(async () => {
  gh = await startGatehouse();
});
afterAll(() => gh.stop());

describe('the WebAuthn browser library', () => {
  it('is served from our own origin as a script, so pages load it under script-src self', async () => {
    const response = await fetch(`${gh.origin}/assets/simplewebauthn-browser.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await response.text()).toContain('SimpleWebAuthnBrowser');
    // Nothing else of node_modules is reachable through the asset route.
    for (const path of ['/assets/..%2Fpackage.json', '/assets/simplewebauthn-browser.js/', '/assets/index.umd.min.js']) {
      expect((await fetch(`${gh.origin}${path}`)).status, path).toBe(404);
    }
  });
});
