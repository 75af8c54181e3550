import type { ConfigInput } from '../../config/schema.js';
import { startGatehouse, type TestGatehouse } from './gatehouse.js';
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
 * `offset` moves the app's clock (reset after each test).
 */
export function mailingSuite(overrides: ConfigInput = {}): { gh: TestGatehouse; mail: MailServer; offset: number } {
  const suite = { offset: 0 } as { gh: TestGatehouse; mail: MailServer; offset: number };
  beforeAll(async () => {
    suite.mail = await startMailServer();
    suite.gh = await startMailingGatehouse(suite.mail, () => Date.now() + suite.offset, overrides);
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
