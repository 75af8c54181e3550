/**
 * A real SMTP server for the e-mail tests (npm `smtp-server`), on 127.0.0.1 and a free port: it
 * keeps every message, parsed by `mailparser`, so a test can read the link or code a user would.
 * With `tls`, it offers STARTTLS with the given certificate (and then requires it for AUTH); with
 * `auth`, it accepts only that user and password; `reject` makes it refuse recipients (a 550).
 */
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from './ports.js';

export interface ReceivedMail {
  from: string;
  fromName: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  headers: Map<string, unknown>;
  /** whether the connection was upgraded to TLS before the message */
  secure: boolean;
  /** the AUTH user, if the client logged in */
  user: string | undefined;
}

export interface MailServerOptions {
  tls?: { key: string; cert: string };
  auth?: { user: string; password: string };
  reject?: () => boolean;
}

export async function startMailServer(options: MailServerOptions = {}) {
  const port = await freePort();
  const mails: ReceivedMail[] = [];
  const waiters: Array<() => void> = [];
  const server = new SMTPServer({
    secure: false,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : { disabledCommands: ['STARTTLS'] }),
    authOptional: !options.auth,
    allowInsecureAuth: !options.tls,
    logger: false,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.password) return callback(null, { user: auth.username });
      return callback(new Error('Invalid username or password'));
    },
    onRcptTo(_address, _session, callback) {
      if (options.reject?.()) return callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      return callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const from = parsed.from?.value[0];
          mails.push({
            from: from?.address ?? '',
            fromName: from?.name ?? '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            headers: parsed.headers,
            secure: session.secure,
            user: typeof session.user === 'string' ? session.user : undefined,
          });
          for (const wake of waiters.splice(0)) wake();
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  /** The first mail (after `skip` earlier ones) that `match` accepts, waiting up to `timeoutMs`. */
  const next = async (match: (mail: ReceivedMail) => boolean = () => true, timeoutMs = 10_000): Promise<ReceivedMail> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = mails.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching mail within ${timeoutMs} ms (${mails.length} received)`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  return {
    port,
    mails,
    next,
    /** the mails sent to `to` so far */
    to: (address: string) => mails.filter((mail) => mail.to.includes(address)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type MailServer = Awaited<ReturnType<typeof startMailServer>>;

/** The first URL in a text body that starts with `prefix`. */
export function linkIn(text: string, prefix: string): string {
  const match = text.split(/\s+/).find((word) => word.startsWith(prefix));
  if (!match) throw new Error(`no link starting with ${prefix} in:\n${text}`);
  return match;
}

/** The six-digit code in a text body. */
export function codeIn(text: string): string {
  const match = /\b(\d{6})\b/.exec(text);
  if (!match?.[1]) throw new Error(`no six-digit code in:\n${text}`);
  return match[1];
}
