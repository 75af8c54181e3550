import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../config/schema.js';
import { MessageNotSentError, type SmsMessage } from '../../src/messaging/sender.js';
import { freePort, startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

const SECRET = 'whsec-test-0123456789-0123456789-abcdef';
const SID = `AC${'0123456789abcdef'.repeat(2)}`;
const TOKEN = 'twilio-auth-token-0123456789abcdef';

const message: SmsMessage = { channel: 'sms', tenant: 'acme', to: '+15555550100', text: 'Acme: your code is 123456', purpose: 'verification', requestId: 'req-42' };

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** An HTTP server on 127.0.0.1 keeping every request and answering with `answer`. */
async function receiver(answer: (req: Received, res: ServerResponse) => void) {
  const port = await freePort();
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const entry = { path: req.url ?? '', headers: req.headers, body };
      received.push(entry);
      answer(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Gatehouse whose log (JSON lines, every level) is kept in `lines`. */
async function gatehouseWithLog(overrides: ConfigInput) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const gh = await startGatehouse({ demo: { seed: false }, ...overrides }, { logger: pino({ level: 'trace' }, stream) });
  return { gh, lines };
}

/** The error `send` rejects with (it must reject with a MessageNotSentError). */
async function failure(gh: TestGatehouse, sent: SmsMessage = message): Promise<MessageNotSentError> {
  const error: unknown = await gh.app.messages.send(sent).then(() => undefined, (reason: unknown) => reason);
  expect(error).toBeInstanceOf(MessageNotSentError);
  return error as MessageNotSentError;
}

/** What a receiver does with the documented headers: recompute the HMAC over `{timestamp}.{raw body}`. */
function verifies(secret: string, received: Received): boolean {
  const timestamp = String(received.headers['gatehouse-timestamp']);
  const signature = String(received.headers['gatehouse-signature']);
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${received.body}`).digest('hex')}`;
  return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

describe('console sender (the default outside production)', () => {
  it('writes the message to the log at warn level, marked as not delivered', async () => {
    const { gh, lines } = await gatehouseWithLog({});
    try {
      expect(gh.app.config.messaging.sms.sender).toBe('console');
      expect(await gh.app.messages.send(message)).toEqual({});
      const line = lines.map((text) => JSON.parse(text) as Record<string, unknown>).find((entry) => entry['event'] === 'message.not_delivered');
      expect(line).toMatchObject({ level: 40, channel: 'sms', sender: 'console', tenant: 'acme', to: '+15555550100', purpose: 'verification', text: message.text, requestId: 'req-42' });
      expect(String(line!['msg'])).toContain('NOT DELIVERED');
    } finally {
      await gh.stop();
    }
  });

  it('refuses a number that is not E.164 and an oversized text before anything is written', async () => {
    const { gh, lines } = await gatehouseWithLog({});
    try {
      for (const to of ['5555550100', '+0555', '+1555555010012345678', '+1 555 555 0100', '']) {
        expect((await failure(gh, { ...message, to })).retryable).toBe(false);
      }
      expect((await failure(gh, { ...message, text: 'x'.repeat(1601) })).retryable).toBe(false);
      expect((await failure(gh, { ...message, text: '' })).retryable).toBe(false);
      expect(lines.filter((text) => text.includes('message.not_delivered'))).toEqual([]);
    } finally {
      await gh.stop();
    }
  });
});

describe('webhook sender', () => {
  const webhook = (url: string, extra: ConfigInput = {}): ConfigInput => ({ env: 'development', messaging: { sms: { sender: 'webhook', webhook: { url, secret: SECRET } } }, ...extra });
  let open: Array<{ close(): Promise<void> }> = [];
  let gatehouses: TestGatehouse[] = [];
  afterEach(async () => {
    await Promise.all([...open.map((entry) => entry.close()), ...gatehouses.map((gh) => gh.stop())]);
    open = [];
    gatehouses = [];
  });
  async function start(overrides: ConfigInput) {
    const started = await gatehouseWithLog(overrides);
    gatehouses.push(started.gh);
    return started;
  }

  it('posts the message as JSON, signed with HMAC-SHA256 over the timestamp and the raw body', async () => {
    const sms = await receiver((_req, res) => res.writeHead(202).end());
    open.push(sms);
    const { gh, lines } = await start(webhook(`${sms.url}/sms`));
    const before = Math.floor(Date.now() / 1000);
    const result = await gh.app.messages.send(message);

    expect(sms.received).toHaveLength(1);
    const [request] = sms.received;
    expect(request!.path).toBe('/sms');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(verifies(SECRET, request!)).toBe(true);
    expect(verifies(`${SECRET}x`, request!)).toBe(false);
    const timestamp = Number(request!.headers['gatehouse-timestamp']);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    const body = JSON.parse(request!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ channel: 'sms', tenant: 'acme', to: '+15555550100', text: message.text, purpose: 'verification', requestId: 'req-42' });
    expect(typeof body['id']).toBe('string');
    expect(result).toEqual({ id: body['id'] });
    expect(lines.join('\n')).not.toContain(SECRET);
  });

  it('sends messages in parallel, each with its own id and a valid signature', async () => {
    const sms = await receiver((_req, res) => res.writeHead(200).end());
    open.push(sms);
    const { gh } = await start(webhook(`${sms.url}/sms`));
    const results = await Promise.all(Array.from({ length: 10 }, (_, index) => gh.app.messages.send({ ...message, text: `code ${index}` })));
    expect(sms.received).toHaveLength(10);
    expect(sms.received.every((request) => verifies(SECRET, request))).toBe(true);
    expect(new Set(results.map((result) => result.id)).size).toBe(10);
    expect(sms.received.map((request) => (JSON.parse(request.body) as { text: string }).text).sort()).toEqual(Array.from({ length: 10 }, (_, index) => `code ${index}`).sort());
  });

  it('a tampered body or a foreign secret does not verify', async () => {
    const sms = await receiver((_req, res) => res.writeHead(200).end());
    open.push(sms);
    const { gh } = await start(webhook(`${sms.url}/sms`));
    await gh.app.messages.send(message);
    const [request] = sms.received;
    expect(verifies(SECRET, { ...request!, body: request!.body.replace('123456', '654321') })).toBe(false);
    expect(verifies(SECRET, { ...request!, headers: { ...request!.headers, 'gatehouse-timestamp': String(Number(request!.headers['gatehouse-timestamp']) + 1) } })).toBe(false);
  });

  it('fails with a retryable error when the receiver answers 500 or does not answer in time', async () => {
    const broken = await receiver((_req, res) => res.writeHead(500).end('database down'));
    const silent = await receiver(() => undefined);
    open.push(broken, silent);

    const { gh } = await start(webhook(`${broken.url}/sms`));
    const error = await failure(gh);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('500');
    expect(broken.received).toHaveLength(1);

    const { gh: slow } = await start(webhook(`${silent.url}/sms`, { messaging: { sms: { sender: 'webhook', timeoutMs: 300, webhook: { url: `${silent.url}/sms`, secret: SECRET } } } }));
    const timeout = await failure(slow);
    expect(timeout.retryable).toBe(true);
    expect(timeout.message).toMatch(/no answer within 300 ms/);
  });

  it('fails without retry when the receiver refuses the message (4xx)', async () => {
    const picky = await receiver((_req, res) => res.writeHead(422).end());
    open.push(picky);
    const { gh } = await start(webhook(`${picky.url}/sms`));
    expect((await failure(gh)).retryable).toBe(false);
  });

  it('does not follow a redirect', async () => {
    const redirecting = await receiver((req, res) => (req.path === '/sms' ? res.writeHead(307, { location: '/elsewhere' }).end() : res.writeHead(200).end()));
    open.push(redirecting);
    const { gh } = await start(webhook(`${redirecting.url}/sms`));
    const error = await failure(gh);
    expect(error.message).toContain('307');
    expect(redirecting.received.map((entry) => entry.path)).toEqual(['/sms']);
  });

  it('refuses a loopback or private URL outside development unless the operator allows it, and says how', async () => {
    const sms = await receiver((_req, res) => res.writeHead(200).end());
    open.push(sms);
    for (const url of [`${sms.url}/sms`, `http://localhost:${new URL(sms.url).port}/sms`, 'http://10.0.0.1:9/sms', 'http://[::ffff:127.0.0.1]:9/sms', `http://0.0.0.0:${new URL(sms.url).port}/sms`]) {
      const { gh, lines } = await start(webhook(url, { env: 'test' }));
      const error = await failure(gh);
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('http.allowPrivateNetworkFetch');
      expect(lines.some((line) => line.includes('outbound.refused'))).toBe(true);
    }
    // Development allows loopback by the URL alone, never a private network address.
    const { gh: dev } = await start(webhook('http://10.0.0.1:9/sms', { messaging: { sms: { sender: 'webhook', timeoutMs: 300, webhook: { url: 'http://10.0.0.1:9/sms', secret: SECRET } } } }));
    expect((await failure(dev)).message).toContain('SSRF');
    expect(sms.received).toEqual([]);

    const { gh: allowed } = await start(webhook(`${sms.url}/sms`, { env: 'test', http: { allowPrivateNetworkFetch: true } }));
    await allowed.app.messages.send(message);
    expect(sms.received).toHaveLength(1);
  });
});

describe('twilio sender', () => {
  const twilio = (baseUrl: string): ConfigInput => ({ messaging: { sms: { sender: 'twilio', twilio: { accountSid: SID, authToken: TOKEN, from: '+15005550006', baseUrl } } } });
  let api: Awaited<ReturnType<typeof receiver>>;
  let status = 201;
  beforeAll(async () => {
    // Answers like Twilio: 201 with the message resource, or Twilio's error document.
    api = await receiver((req, res) => {
      const basic = `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`;
      if (req.headers['authorization'] !== basic) return void res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 20003, message: 'Authenticate', status: 401 }));
      if (status !== 201) return void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 21211, message: "The 'To' number is not a valid phone number.", status }));
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ sid: 'SM0123456789abcdef0123456789abcdef', status: 'queued' }));
    });
  });
  afterAll(() => api.close());
  afterEach(() => {
    status = 201;
    api.received.length = 0;
  });

  it('posts To, From and Body to the account\'s Messages resource with Basic auth and returns the message SID', async () => {
    const { gh, lines } = await gatehouseWithLog(twilio(api.url));
    try {
      expect(await gh.app.messages.send(message)).toEqual({ id: 'SM0123456789abcdef0123456789abcdef' });
      expect(api.received).toHaveLength(1);
      const [request] = api.received;
      expect(request!.path).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
      expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(Object.fromEntries(new URLSearchParams(request!.body))).toEqual({ To: '+15555550100', From: '+15005550006', Body: message.text });
      expect(lines.join('\n')).not.toContain(TOKEN);
    } finally {
      await gh.stop();
    }
  });

  it('sends through a messaging service when one is configured instead of a number', async () => {
    const service = `MG${'ab'.repeat(16)}`;
    const { gh } = await gatehouseWithLog({ messaging: { sms: { sender: 'twilio', twilio: { accountSid: SID, authToken: TOKEN, messagingServiceSid: service, baseUrl: api.url } } } });
    try {
      await gh.app.messages.send(message);
      expect(Object.fromEntries(new URLSearchParams(api.received[0]!.body))).toEqual({ To: '+15555550100', MessagingServiceSid: service, Body: message.text });
    } finally {
      await gh.stop();
    }
  });

  it('a 4xx answer is an error not worth retrying, a 429 or 5xx one worth retrying; the token is never in errors or logs', async () => {
    const { gh, lines } = await gatehouseWithLog(twilio(api.url));
    try {
      status = 400;
      const refused = await failure(gh);
      expect(refused.retryable).toBe(false);
      expect(refused.message).toContain('21211');
      for (const retryable of [429, 503]) {
        status = retryable;
        expect((await failure(gh)).retryable).toBe(true);
      }
      const base64 = Buffer.from(`${SID}:${TOKEN}`).toString('base64');
      for (const error of [refused]) {
        expect(`${error.message} ${String(error.stack)} ${JSON.stringify(error)}`).not.toContain(TOKEN);
        expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(base64);
      }
      expect(lines.join('\n')).not.toContain(TOKEN);
      expect(lines.join('\n')).not.toContain(base64);
    } finally {
      await gh.stop();
    }
  });

  it('an unreachable API is a retryable error', async () => {
    const { gh } = await gatehouseWithLog(twilio(`http://127.0.0.1:${await freePort()}`));
    try {
      expect((await failure(gh)).retryable).toBe(true);
    } finally {
      await gh.stop();
    }
  });
});
