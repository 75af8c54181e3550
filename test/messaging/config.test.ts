import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Config, type LoadConfigOptions } from '../../config/index.js';
import { startGatehouse } from '../helpers/gatehouse.js';

const SID = `AC${'0123456789abcdef'.repeat(2)}`;
const TOKEN = 'twilio-auth-token-that-must-stay-secret';
const WEBHOOK_SECRET = 'a-webhook-secret-of-at-least-32-characters';

const production = {
  NODE_ENV: 'production',
  GATEHOUSE_PUBLIC_URL: 'https://id.example.com',
  GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'),
};

function load(options: LoadConfigOptions = {}): Config {
  return loadConfig({ env: {}, ...options });
}

/** The ConfigError's message: loading must fail. */
function problemsOf(options: LoadConfigOptions): string {
  try {
    load(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('the configuration was accepted');
}

describe('messaging.sms.sender', () => {
  it('is console in development and test, and none unless chosen in production', () => {
    expect(load().messaging.sms.sender).toBe('console');
    expect(load({ env: { NODE_ENV: 'test' } }).messaging.sms.sender).toBe('console');
    expect(load({ env: production }).messaging.sms.sender).toBeUndefined();
  });

  it('refuses a sender it does not know, naming the ones it does', () => {
    expect(problemsOf({ env: { GATEHOUSE_SMS_SENDER: 'carrier-pigeon' } })).toContain(
      'messaging.sms.sender (GATEHOUSE_SMS_SENDER): expected one of console, webhook, twilio',
    );
  });

  it('refuses the console sender in production: the codes would go to the log, not to phones', () => {
    const message = problemsOf({ env: { ...production, GATEHOUSE_SMS_SENDER: 'console' } });
    expect(message).toContain('messaging.sms.sender (GATEHOUSE_SMS_SENDER): console is not allowed in production');
    expect(message).toContain('webhook or twilio');
  });

  it('refuses a webhook sender without its URL or secret, and a short secret without echoing it', () => {
    const missing = problemsOf({ env: { GATEHOUSE_SMS_SENDER: 'webhook' } });
    expect(missing).toContain('messaging.sms.webhook.url (GATEHOUSE_SMS_WEBHOOK_URL is not set): is required when messaging.sms.sender is webhook');
    expect(missing).toContain('messaging.sms.webhook.secret (GATEHOUSE_SMS_WEBHOOK_SECRET is not set): is required when messaging.sms.sender is webhook');

    const short = problemsOf({ env: { GATEHOUSE_SMS_SENDER: 'webhook', GATEHOUSE_SMS_WEBHOOK_URL: 'https://sms.example.com/send', GATEHOUSE_SMS_WEBHOOK_SECRET: 'tooshort-secret' } });
    expect(short).toContain('messaging.sms.webhook.secret (GATEHOUSE_SMS_WEBHOOK_SECRET): must be at least 32 characters');
    expect(short).not.toContain('tooshort-secret');

    expect(problemsOf({ env: { GATEHOUSE_SMS_WEBHOOK_URL: 'ftp://sms.example.com/send' } })).toContain('messaging.sms.webhook.url (GATEHOUSE_SMS_WEBHOOK_URL): must be an http: or https: URL');
    expect(problemsOf({ env: { ...production, GATEHOUSE_SMS_SENDER: 'webhook', GATEHOUSE_SMS_WEBHOOK_URL: 'http://sms.example.com/send', GATEHOUSE_SMS_WEBHOOK_SECRET: WEBHOOK_SECRET } })).toContain(
      'messaging.sms.webhook.url (GATEHOUSE_SMS_WEBHOOK_URL): must be an https: URL in production',
    );
  });

  it('refuses a twilio sender without its account SID, auth token or sender, and never echoes the token', () => {
    const missing = problemsOf({ env: { GATEHOUSE_SMS_SENDER: 'twilio' } });
    expect(missing).toContain('messaging.sms.twilio.accountSid (GATEHOUSE_TWILIO_ACCOUNT_SID is not set): is required when messaging.sms.sender is twilio');
    expect(missing).toContain('messaging.sms.twilio.authToken (GATEHOUSE_TWILIO_AUTH_TOKEN is not set): is required when messaging.sms.sender is twilio');
    expect(missing).toContain('messaging.sms.twilio.from (GATEHOUSE_TWILIO_FROM is not set): set messaging.sms.twilio.from or messaging.sms.twilio.messagingServiceSid');

    const both = problemsOf({
      env: { GATEHOUSE_SMS_SENDER: 'twilio', GATEHOUSE_TWILIO_ACCOUNT_SID: SID, GATEHOUSE_TWILIO_AUTH_TOKEN: TOKEN, GATEHOUSE_TWILIO_FROM: '+15005550006', GATEHOUSE_TWILIO_MESSAGING_SERVICE_SID: `MG${'0'.repeat(32)}` },
    });
    expect(both).toContain('set messaging.sms.twilio.from or messaging.sms.twilio.messagingServiceSid, not both');
    expect(both).not.toContain(TOKEN);

    const badSid = problemsOf({ env: { GATEHOUSE_SMS_SENDER: 'twilio', GATEHOUSE_TWILIO_ACCOUNT_SID: 'AC123', GATEHOUSE_TWILIO_AUTH_TOKEN: TOKEN, GATEHOUSE_TWILIO_FROM: '+15005550006' } });
    expect(badSid).toContain('messaging.sms.twilio.accountSid (GATEHOUSE_TWILIO_ACCOUNT_SID): expected AC followed by 32 hexadecimal digits');
    expect(badSid).not.toContain(TOKEN);

    // The token travels as the Basic password: never in the clear in production.
    expect(problemsOf({ env: { ...production, GATEHOUSE_SMS_SENDER: 'twilio', GATEHOUSE_TWILIO_ACCOUNT_SID: SID, GATEHOUSE_TWILIO_AUTH_TOKEN: TOKEN, GATEHOUSE_TWILIO_FROM: '+15005550006', GATEHOUSE_TWILIO_BASE_URL: 'http://twilio.internal' } })).toContain(
      'messaging.sms.twilio.baseUrl (GATEHOUSE_TWILIO_BASE_URL): must be an https: URL in production',
    );
    const config = load({ env: { ...production, GATEHOUSE_SMS_SENDER: 'twilio', GATEHOUSE_TWILIO_ACCOUNT_SID: SID, GATEHOUSE_TWILIO_AUTH_TOKEN: TOKEN, GATEHOUSE_TWILIO_FROM: '+15005550006' } });
    expect(config.messaging.sms).toMatchObject({ sender: 'twilio', twilio: { accountSid: SID, authToken: TOKEN, baseUrl: 'https://api.twilio.com' } });
  });
});

describe('start-up', () => {
  it('production refuses to start with the console sender', async () => {
    await expect(startGatehouse({ env: 'production', messaging: { sms: { sender: 'console' } } })).rejects.toThrow(/messaging\.sms\.sender \(in overrides\): console is not allowed in production/);
  });
});
