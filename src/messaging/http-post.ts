import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isSpecialUse } from '../oidc/special-use.js';

/** A special-use address was refused; the sender turns it into the outbound guard's message. */
export class SpecialUseAddressError extends Error {
  override readonly name = 'SpecialUseAddressError';
}

/** Sender answers are small; a bigger one is cut here rather than held in memory. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface PostOptions {
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** refuse special-use addresses, after DNS resolution, on the address actually connected to */
  guarded: boolean;
}

export interface PostAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Resolves every address of the name and refuses them all if one is special-use, so neither a
 * mixed answer nor a second, rebinding lookup can lead the connection inward: the socket connects
 * to the address checked here.
 */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    if (addresses.some((entry) => isSpecialUse(entry.address))) return callback(new SpecialUseAddressError(hostname), '', 0);
    if (options.all) return callback(null, addresses);
    const [first] = addresses;
    if (first === undefined) return callback(new Error(`${hostname} has no address`), '', 0);
    callback(null, first.address, first.family);
  });
};

/**
 * One POST over node:http(s), which never follows redirects: a 3xx is an answer like any other. The
 * whole exchange, connection to last byte, is bounded by `timeoutMs`; an answer over 64 KB is cut.
 */
export function post(url: URL, options: PostOptions): Promise<PostAnswer> {
  return exchange(url, { ...options, method: 'POST', maxBytes: MAX_ANSWER_BYTES, overflow: 'cut' });
}

/** An answer longer than the caller allows; the connection was closed at the limit. */
export class AnswerTooLargeError extends Error {
  override readonly name = 'AnswerTooLargeError';

  constructor(readonly maxBytes: number) {
    super(`the answer is larger than ${maxBytes} bytes`);
  }
}

/**
 * One GET (e.g. an SP's metadata document), under the same rules as `post`; an answer longer than
 * `maxBytes` fails with {@link AnswerTooLargeError} as soon as it is, rather than being read on.
 */
export function get(url: URL, options: Omit<PostOptions, 'body'> & { maxBytes: number }): Promise<PostAnswer> {
  return exchange(url, { ...options, method: 'GET', overflow: 'fail' });
}

interface Exchange extends Omit<PostOptions, 'body'> {
  method: 'GET' | 'POST';
  body?: string;
  maxBytes: number;
  /** cut: keep the first maxBytes and read on; fail: abort the exchange */
  overflow: 'cut' | 'fail';
}

function exchange(url: URL, options: Exchange): Promise<PostAnswer> {
  const literal = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  // A literal address is connected to without a lookup, so it is checked here.
  if (options.guarded && isSpecialUse(literal)) return Promise.reject(new SpecialUseAddressError(literal));
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const length = options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) };
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: options.method,
      headers: { ...options.headers, ...length },
      ...(options.guarded ? { lookup: guardedLookup } : {}),
    });
    const timer = setTimeout(() => req.destroy(new PostTimeoutError(options.timeoutMs)), options.timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= options.maxBytes) chunks.push(chunk);
        else if (options.overflow === 'fail') req.destroy(new AnswerTooLargeError(options.maxBytes));
      });
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(options.body);
  });
}

export class PostTimeoutError extends Error {
  override readonly name = 'PostTimeoutError';

  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}
