import type { ConfigInput } from '../../config/schema.js';
import { freePort, startGatehouse, type TestGatehouse } from './gatehouse.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startMailServer, type MailServer } from './mail-server.js';

/** A Gatehouse whose e-mail goes over SMTP to the test's own mail server (plain SMTP on loopback). */
export function startMailingGatehouse(mail: MailServer, clock?: () => number, overrides: ConfigInput = {}): Promise<TestGatehouse> {
  return startGatehouse(
    { ...overrides, messaging: { ...overrides.messaging, email: { sender: 'smtp', from: 'id@gatehouse.test', smtp: { host: '127.0.0.1', port: mail.port, requireTls: false } } } },
    clock ? { clock } : {},
  );
}

/**
 * A test file's mail server and mailing Gatehouse, started before its tests and stopped after;
 * `offset` moves the app's clock (reset after each test). `localhost` serves it at http://localhost:{port}
 * (for passkeys).
 */
export function mailingSuite(overrides: ConfigInput = {}, options: { localhost?: boolean } = {}): { gh: TestGatehouse; mail: MailServer; offset: number } {
  const suite = { offset: 0 } as { gh: TestGatehouse; mail: MailServer; offset: number };
  beforeAll(async () => {
    suite.mail = await startMailServer();
    if (!options.localhost) {
      suite.gh = await startMailingGatehouse(suite.mail, () => Date.now() + suite.offset, overrides);
      return;
    }
    // WebAuthn needs a host name for its RP ID (an IP address cannot be one): the public URL is localhost.
    const port = await freePort();
    const origin = `http://localhost:${port}`;
    const gh = await startMailingGatehouse(suite.mail, () => Date.now() + suite.offset, { ...overrides, port, publicUrl: origin });
    suite.gh = { ...gh, origin, issuer: (tenant) => `${origin}/t/${tenant}` };
  });
  afterEach(() => {
    suite.offset = 0;
  });
  afterAll(async () => {
    await suite.gh.stop();
    await suite.mail.close();
  });
  return suite;
}
