/**
 * The port for messages Gatehouse sends to people: SMS one-time codes now, CIBA notifications and
 * e-mail later. A message is a union on `channel`, so a new channel adds a member (and senders
 * for it) without changing the callers of the existing ones.
 */

/**
 * Why a message is sent: receivers and logs tell a code for enrolment from one for signing in, and
 * both from a CIBA notification (a link to approve a backchannel request, no code).
 */
export type MessagePurpose = 'verification' | 'sign-in' | 'ciba';

export interface SmsMessage {
  channel: 'sms';
  tenant: string;
  /** E.164: `+`, country code, number; at most 15 digits */
  to: string;
  text: string;
  purpose: MessagePurpose;
  /** the request that caused the message, for tracing it across the gateway */
  requestId?: string;
}

export type Message = SmsMessage;

export interface SendResult {
  /** the sender's id of the accepted message (a Twilio message SID), when it gives one */
  id?: string;
}

export interface MessageSender {
  /** Resolves when the sender accepted the message; rejects with `MessageNotSentError` otherwise. */
  send(message: Message): Promise<SendResult>;
}

/**
 * A message was not sent. `retryable` says whether the same message may succeed later (a timeout,
 * a 5xx or 429 answer) or not (a refused address, a 4xx answer, a missing sender). The message is
 * safe to log: it never carries a credential of the sender.
 */
export class MessageNotSentError extends Error {
  override readonly name = 'MessageNotSentError';

  constructor(
    message: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const E164 = /^\+[1-9]\d{1,14}$/;
/** Ten concatenated SMS segments; Twilio's own limit is 1600 characters. */
export const MAX_SMS_TEXT = 1600;

/** Refuses what no gateway could deliver, before any sender is called. */
export function checkMessage(message: Message): void {
  if (!E164.test(message.to)) throw new MessageNotSentError('the recipient is not a phone number in E.164 format (+ and up to 15 digits)', false);
  if (message.text.length === 0 || message.text.length > MAX_SMS_TEXT) throw new MessageNotSentError(`the text must be 1 to ${MAX_SMS_TEXT} characters`, false);
}
