import type { ConfigInput } from '../../config/schema.js';
import { startGatehouse, type TestGatehouse } from './gatehouse.js';
import type { MailServer } from './mail-server.js';

/** A Gatehouse whose e-mail goes over SMTP to the test's own mail server (plain SMTP on loopback). */
export function startMailingGatehouse(mail: MailServer, clock?: () => number, overrides: ConfigInput = {}): Promise<TestGatehouse> {
  return startGatehouse(
    { ...overrides, messaging: { email: { sender: 'smtp', from: 'id@gatehouse.test', smtp: { host: '127.0.0.1', port: mail.port, requireTls: false } } } },
    clock ? { clock } : {},
  );
}
