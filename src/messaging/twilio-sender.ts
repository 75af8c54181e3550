import { post, type PostAnswer } from './http-post.js';
import { answerError, transportError } from './outcome.js';
import { checkMessage, MessageNotSentError, type Message, type MessageSender, type SendResult } from './sender.js';

export interface TwilioSettings {
  accountSid: string;
  authToken: string;
  /** a number or sender ID; exactly one of `from` and `messagingServiceSid` (config/messaging-rules.ts) */
  from?: string | undefined;
  messagingServiceSid?: string | undefined;
  baseUrl: string;
  timeoutMs: number;
}

/**
 * Twilio's Messages resource (REST API 2010-04-01): a form POST with HTTP Basic auth, answered
 * 201 with the message's SID. The base URL is the operator's setting, not a tenant's, so it is not
 * put through the SSRF guard (tests point it at a local server). The auth token goes into the
 * Authorization header only; errors and logs are built without it.
 */
export class TwilioSender implements MessageSender {
  private readonly url: URL;
  private readonly authorization: string;

  constructor(private readonly settings: TwilioSettings) {
    this.url = new URL(`/2010-04-01/Accounts/${encodeURIComponent(settings.accountSid)}/Messages.json`, settings.baseUrl);
    this.authorization = `Basic ${Buffer.from(`${settings.accountSid}:${settings.authToken}`).toString('base64')}`;
  }

  async send(message: Message): Promise<SendResult> {
    checkMessage(message);
    const { from, messagingServiceSid } = this.settings;
    const form = new URLSearchParams({ To: message.to, ...(messagingServiceSid ? { MessagingServiceSid: messagingServiceSid } : { From: from ?? '' }), Body: message.text });
    let answer: PostAnswer;
    try {
      answer = await post(this.url, {
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: this.authorization },
        body: form.toString(),
        timeoutMs: this.settings.timeoutMs,
        guarded: false,
      });
    } catch (error) {
      throw transportError('twilio', error, this.url, undefined);
    }
    if (answer.status < 200 || answer.status > 299) throw answerError('twilio', answer, this.errorDetail(answer));
    const sid = parseJson(answer.body)?.['sid'];
    if (typeof sid !== 'string') throw new MessageNotSentError(`the twilio sender's gateway answered ${answer.status} without a message sid`, false);
    return { id: sid };
  }

  /** Twilio's error code and message (`21211: The 'To' number ... is not valid`), for the operator. */
  private errorDetail(answer: PostAnswer): string {
    const error = parseJson(answer.body);
    const code = error?.['code'];
    const text = error?.['message'];
    if (typeof code !== 'number' && typeof text !== 'string') return '';
    const detail = `: Twilio error ${String(code ?? '?')}${typeof text === 'string' ? ` (${text.slice(0, 200)})` : ''}`;
    // Twilio never echoes credentials, but whatever answers at the base URL might.
    return detail.includes(this.settings.authToken) ? '' : detail;
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
