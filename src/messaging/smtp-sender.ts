import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import { checkEmail, type EmailMessage, type EmailSender } from './email.js';
import { MessageNotSentError, type SendResult } from './sender.js';

export interface SmtpSettings {
  host: string;
  port: number;
  /** TLS from the first byte; otherwise STARTTLS (required when `requireTls`) */
  secure: boolean;
  requireTls: boolean;
  rejectUnauthorized: boolean;
  caFile?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  /** the envelope and `From` address */
  from: string;
  timeoutMs: number;
}

/** SMTP error codes nodemailer gives that no retry fixes: a refused login or TLS, a refused envelope. */
const permanentCodes = new Set(['EAUTH', 'ETLS', 'EENVELOPE', 'EMESSAGE', 'ENOAUTH']);

/**
 * Mail through an SMTP relay (nodemailer), with TLS checked as configured: implicit TLS or
 * STARTTLS, the server's certificate verified (against `caFile` too), pooled connections. The CA
 * file is read once here, so a wrong path stops the start. The password goes to the AUTH command
 * only; errors are built from the server's reply code and nodemailer's error code, never the settings.
 */
export class SmtpSender implements EmailSender {
  readonly #transport: Transporter;

  constructor(private readonly settings: SmtpSettings) {
    const { host, port, secure, requireTls, rejectUnauthorized, caFile, user, password, timeoutMs } = settings;
    this.#transport = nodemailer.createTransport({
      host,
      port,
      secure,
      requireTLS: !secure && requireTls,
      tls: { rejectUnauthorized, minVersion: 'TLSv1.2', ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}) },
      ...(user !== undefined && password !== undefined ? { auth: { user, pass: password } } : {}),
      pool: true,
      maxConnections: 4,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  async send(message: EmailMessage): Promise<SendResult> {
    checkEmail(message);
    try {
      const info = (await this.#transport.sendMail({
        from: { name: message.fromName, address: this.settings.from },
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        headers: { 'Auto-Submitted': 'auto-generated' },
      })) as { messageId?: string; rejected?: unknown[] };
      if (Array.isArray(info.rejected) && info.rejected.length > 0) throw new MessageNotSentError('the SMTP server refused the recipient', false);
      return info.messageId ? { id: info.messageId } : {};
    } catch (error) {
      throw smtpError(error);
    }
  }

  close(): void {
    this.#transport.close();
  }
}

/** A 4xx reply or a lost connection may pass later; a 5xx reply or refused credentials will not. */
function smtpError(error: unknown): MessageNotSentError {
  if (error instanceof MessageNotSentError) return error;
  const { code, responseCode } = (error ?? {}) as { code?: string; responseCode?: number };
  const reply = typeof responseCode === 'number' ? ` (reply ${responseCode})` : '';
  const retryable = typeof responseCode === 'number' ? responseCode < 500 : !permanentCodes.has(code ?? '');
  const reason = error instanceof Error ? error.message.split('\n')[0] : 'unknown error';
  return new MessageNotSentError(`the SMTP server did not accept the mail${reply}: ${code ?? 'error'}: ${reason}`, retryable, { cause: error });
}
