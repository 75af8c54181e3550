import { MessageNotSentError, type SendResult } from './sender.js';

/**
 * The port for e-mail, kept apart from the SMS `MessageSender` (sender.ts): an e-mail has a subject
 * and two bodies, and its recipient is a mailbox, not an E.164 number.
 */

/** Why a mail is sent: receivers and logs tell a link to prove an address from a reset or a notice. */
export type EmailPurpose = 'verification' | 'password-reset' | 'notice';

export interface EmailMessage {
  tenant: string;
  /** one plain address (`emailAddressProblem`) */
  to: string;
  /** the `From` display name (the tenant's); the address is the operator's `messaging.email.from` */
  fromName: string;
  subject: string;
  text: string;
  html: string;
  purpose: EmailPurpose;
  /** the request that caused the message, for tracing it across the gateway */
  requestId?: string;
}

export interface EmailSender {
  /** Resolves when the sender accepted the mail; rejects with `MessageNotSentError` otherwise. */
  send(message: EmailMessage): Promise<SendResult>;
}

/** RFC 5321 4.5.3.1: a path holds at most 256 octets with its angle brackets, so 254 for the address. */
export const MAX_EMAIL_ADDRESS = 254;
export const MAX_EMAIL_SUBJECT = 200;
/** Bodies are ours (templates of bounded size with bounded values); this only stops a runaway. */
export const MAX_EMAIL_BODY = 256 * 1024;

/**
 * A dot-atom local part (no quoted strings, no comments) and a DNS host name. Deliberately narrower
 * than RFC 5322: what passes is one mailbox, with nothing that can end a header line (CR, LF), name
 * a second recipient (`,`, `;`), carry a display name (`<`, `>`, `"`) or hide in a comment (`(`).
 */
const address = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** What is wrong with an e-mail address, if anything (one rule for senders, forms and the admin API). */
export function emailAddressProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_EMAIL_ADDRESS) return `must be at most ${MAX_EMAIL_ADDRESS} characters`;
  if (/[\r\n]/.test(value)) return 'must not contain line breaks';
  const at = value.lastIndexOf('@');
  if (at > 64) return 'must have at most 64 characters before the @';
  if (!address.test(value)) return 'must be one plain address such as ada@example.com';
  return undefined;
}

/** A header value of ours (a subject, a display name): one line, bounded, no control characters. */
export function headerText(value: string, max: number): string {
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, max);
}

/** Refuses what no mail server should be handed, before any sender is called. */
export function checkEmail(message: EmailMessage): void {
  const problem = emailAddressProblem(message.to);
  if (problem) throw new MessageNotSentError(`the recipient ${problem}`, false);
  if (/[\r\n]/.test(message.subject) || /[\r\n]/.test(message.fromName)) throw new MessageNotSentError('the subject and sender name must be one line', false);
  if (message.subject.length === 0 || message.subject.length > MAX_EMAIL_SUBJECT) throw new MessageNotSentError(`the subject must be 1 to ${MAX_EMAIL_SUBJECT} characters`, false);
  if (message.text.length === 0 || message.text.length > MAX_EMAIL_BODY || message.html.length > MAX_EMAIL_BODY) throw new MessageNotSentError('the body is empty or too long', false);
}
