import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/index.js';
import { ConsoleEmailSender } from '../../src/messaging/email-console-sender.js';
import { createEmailSender } from '../../src/messaging/email-senders.js';
import { EmailWebhookSender } from '../../src/messaging/email-webhook-sender.js';
import { emailAddressProblem, type EmailMessage } from '../../src/messaging/email.js';
import { MessageNotSentError } from '../../src/messaging/sender.js';
import { SmtpSender, type SmtpSettings } from '../../src/messaging/smtp-sender.js';
import { webhookSignature } from '../../src/messaging/signed-post.js';
import { startMailServer, type MailServer } from '../helpers/mail-server.js';
import { startEventReceiver } from '../helpers/signed-receiver.js';
import { makeCertificates } from '../helpers/test-ca.js';

const quiet = pino({ level: 'silent' });
const message: EmailMessage = { tenant: 'acme', to: 'ada@example.com', fromName: 'Acme Corp', subject: 'Hello', text: 'Plain body', html: '<p>HTML body</p>', purpose: 'notice' };

async function refusal(promise: Promise<unknown>): Promise<MessageNotSentError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MessageNotSentError);
    return error as MessageNotSentError;
  }
  throw new Error('the mail was sent');
}

describe('e-mail addresses', () => {
  it('accept one plain address', () => {
    expect(emailAddressProblem('ada.lovelace+id@mail.example.co.uk')).toBeUndefined();
  });

  it.each([
    ['', 'must not be empty'],
    ['ada@example.com\r\nBcc: eve@evil.test', 'line breaks'],
    ['ada@example.com\nX: y', 'line breaks'],
    ['ada@example.com, eve@evil.test', 'one plain address'],
    ['Ada <ada@example.com>', 'one plain address'],
    ['"ada"@example.com', 'one plain address'],
    ['ada@exa mple.com', 'one plain address'],
    ['ada', 'one plain address'],
    ['ada@-example.com', 'one plain address'],
    ['ada..l@example.com', 'one plain address'],
    [`${'a'.repeat(65)}@example.com`, 'at most 64'],
    [`ada@${`${'a'.repeat(60)}.`.repeat(5)}com`, 'at most 254'],
  ])('refuse %j', (value, problem) => {
    expect(emailAddressProblem(value)).toContain(problem);
  });
});

describe('the smtp sender, against a real SMTP server with STARTTLS and AUTH', () => {
  let dir: string;
  let server: MailServer;
  let settings: SmtpSettings;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-smtp-'));
    expect(makeCertificates(dir)).toBe(true);
    server = await startMailServer({ tls: { key: readFileSync(join(dir, 'server.key'), 'utf8'), cert: readFileSync(join(dir, 'server.pem'), 'utf8') }, auth: { user: 'mailer', password: 'smtp-password' } });
    settings = { host: '127.0.0.1', port: server.port, secure: false, requireTls: true, rejectUnauthorized: true, caFile: join(dir, 'ca.pem'), user: 'mailer', password: 'smtp-password', from: 'no-reply@acme.test', timeoutMs: 5000 };
  });
  afterAll(() => server.close());

  it('delivers over STARTTLS, logged in, from the tenant’s name at the operator’s address', async () => {
    const sender = new SmtpSender(settings);
    try {
      const result = await sender.send({ ...message, to: 'first@example.com' });
      expect(result.id).toMatch(/@/);
      const mail = await server.next((candidate) => candidate.to.includes('first@example.com'));
      expect(mail).toMatchObject({ from: 'no-reply@acme.test', fromName: 'Acme Corp', subject: 'Hello', secure: true, user: 'mailer' });
      expect(mail.text.trim()).toBe('Plain body');
      expect(mail.html).toContain('<p>HTML body</p>');
      expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    } finally {
      sender.close();
    }
  });

  it('refuses a server whose certificate it cannot verify (no CA file), sending nothing', async () => {
    const sender = new SmtpSender({ ...settings, caFile: undefined });
    const before = server.mails.length;
    try {
      const error = await refusal(sender.send(message));
      expect(error.message).toContain('SMTP server did not accept');
      expect(error.message).not.toContain('smtp-password');
    } finally {
      sender.close();
    }
    expect(server.mails.length).toBe(before);
  });

  it('refuses a wrong password, not worth retrying, without echoing it', async () => {
    const sender = new SmtpSender({ ...settings, password: 'wrong-password' });
    try {
      const error = await refusal(sender.send(message));
      expect(error.retryable).toBe(false);
      expect(error.message).not.toContain('wrong-password');
    } finally {
      sender.close();
    }
  });

  it('refuses header injection and a second recipient before talking to the server', async () => {
    const sender = new SmtpSender(settings);
    const before = server.mails.length;
    try {
      for (const hostile of [{ to: 'ada@example.com\r\nBcc: eve@evil.test' }, { to: 'ada@example.com,eve@evil.test' }, { subject: 'Hi\r\nBcc: eve@evil.test' }, { fromName: 'Acme\nBcc: eve@evil.test' }, { subject: '' }, { subject: 'x'.repeat(201) }]) {
        const error = await refusal(sender.send({ ...message, ...hostile }));
        expect(error.retryable).toBe(false);
      }
    } finally {
      sender.close();
    }
    expect(server.mails.length).toBe(before);
  });
});

describe('the smtp sender, against servers that fall short', () => {
  it('with requireTls, refuses a server that offers no STARTTLS rather than sending in the clear', async () => {
    const plain = await startMailServer();
    const sender = new SmtpSender({ host: '127.0.0.1', port: plain.port, secure: false, requireTls: true, rejectUnauthorized: true, from: 'no-reply@acme.test', timeoutMs: 5000 });
    try {
      await refusal(sender.send(message));
      expect(plain.mails).toHaveLength(0);
    } finally {
      sender.close();
      await plain.close();
    }
  });

  it('a 550 for the recipient is not worth retrying; a closed port is', async () => {
    const refusing = await startMailServer({ reject: () => true });
    const sender = new SmtpSender({ host: '127.0.0.1', port: refusing.port, secure: false, requireTls: false, rejectUnauthorized: true, from: 'no-reply@acme.test', timeoutMs: 5000 });
    const closedPort = new SmtpSender({ host: '127.0.0.1', port: 9, secure: false, requireTls: false, rejectUnauthorized: true, from: 'no-reply@acme.test', timeoutMs: 2000 });
    try {
      expect((await refusal(sender.send(message))).retryable).toBe(false);
      expect((await refusal(closedPort.send(message))).retryable).toBe(true);
    } finally {
      sender.close();
      closedPort.close();
      await refusing.close();
    }
  });
});

describe('the console e-mail sender', () => {
  it('writes the mail to the log, marked as not delivered', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) }));
    await new ConsoleEmailSender(logger).send({ ...message, text: 'Your code is 123456' });
    const line = JSON.parse(lines.find((entry) => entry.includes('email.not_delivered')) ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ event: 'email.not_delivered', to: 'ada@example.com', text: 'Your code is 123456' });
  });

  it('still refuses a hostile address', async () => {
    await refusal(new ConsoleEmailSender(quiet).send({ ...message, to: 'a@b.test\r\nBcc: c@d.test' }));
  });
});

describe('the e-mail webhook sender', () => {
  it('POSTs the mail signed, and a 5xx answer is worth retrying', async () => {
    let status = 200;
    const receiver = await startEventReceiver(() => status);
    const secret = 'an-email-webhook-secret-of-32-characters-or-more';
    receiver.trust(secret);
    const sender = new EmailWebhookSender({ url: new URL(receiver.url), secret, timeoutMs: 2000, policy: { allowPrivateNetwork: false, allowLoopback: true } }, quiet, Date.now);
    try {
      const { id } = await sender.send(message);
      const event = receiver.events[0]!;
      expect(event.verified).toBe(true);
      expect(event.body).toMatchObject({ id, channel: 'email', to: 'ada@example.com', subject: 'Hello', html: '<p>HTML body</p>' });
      expect(webhookSignature(secret, event.timestamp, event.raw)).toMatch(/^v1=/);
      status = 503;
      expect((await refusal(sender.send(message))).retryable).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it('goes through the outbound guard: a loopback URL is refused outside development', async () => {
    const sender = new EmailWebhookSender({ url: new URL('http://127.0.0.1:9/mail'), secret: 'x'.repeat(32), timeoutMs: 1000, policy: { allowPrivateNetwork: false, allowLoopback: false } }, quiet, Date.now);
    expect((await refusal(sender.send(message))).retryable).toBe(false);
  });
});

describe('messaging.email configuration', () => {
  const production = { NODE_ENV: 'production', GATEHOUSE_PUBLIC_URL: 'https://id.example.com', GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
  const problemsOf = (env: Record<string, string>): string => {
    try {
      loadConfig({ env });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).message;
    }
    throw new Error('the configuration was accepted');
  };

  it('is console outside production and none unless chosen in production', () => {
    expect(loadConfig({ env: {} }).messaging.email.sender).toBe('console');
    expect(loadConfig({ env: production }).messaging.email.sender).toBeUndefined();
  });

  it('refuses the console sender in production, with the reason', () => {
    expect(problemsOf({ ...production, GATEHOUSE_EMAIL_SENDER: 'console', GATEHOUSE_EMAIL_FROM: 'id@example.com' })).toContain('messaging.email.sender (GATEHOUSE_EMAIL_SENDER): console is not allowed in production');
  });

  it('needs an SMTP host, a real From address, and verified TLS in production', () => {
    const problems = problemsOf({ ...production, GATEHOUSE_EMAIL_SENDER: 'smtp', GATEHOUSE_SMTP_REJECT_UNAUTHORIZED: 'false', GATEHOUSE_SMTP_REQUIRE_TLS: 'false' });
    expect(problems).toContain('messaging.email.smtp.host');
    expect(problems).toContain('messaging.email.from');
    expect(problems).toContain('messaging.email.smtp.rejectUnauthorized');
    expect(problems).toContain('messaging.email.smtp.requireTls');
  });

  it('refuses a From with a display name or a line break, and a user without a password, never echoing the password', () => {
    expect(problemsOf({ GATEHOUSE_EMAIL_FROM: 'Acme <a@b.test>' })).toContain('messaging.email.from (GATEHOUSE_EMAIL_FROM)');
    expect(problemsOf({ GATEHOUSE_EMAIL_FROM: 'a@b.test\r\nBcc: c@d.test' })).toContain('messaging.email.from');
    expect(problemsOf({ GATEHOUSE_SMTP_USER: 'mailer' })).toContain('user and password go together');
    expect(problemsOf({ GATEHOUSE_SMTP_PASSWORD: 'secret-pw', GATEHOUSE_SMTP_PORT: '99999' })).not.toContain('secret-pw');
  });

  it('an application without a sender fails every mail, not worth retrying', async () => {
    const config = loadConfig({ env: { ...production, GATEHOUSE_EMAIL_FROM: 'id@example.com' } });
    const error = await refusal(createEmailSender(config, quiet, Date.now).send(message));
    expect(error.message).toContain('no e-mail sender is configured');
  });
});
