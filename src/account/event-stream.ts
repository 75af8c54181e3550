import type { Context } from 'koa';
import type { Logger } from 'pino';

/** Open streams per key (a user) in this process: a page left open in many tabs, not a way to hold sockets. */
export const MAX_STREAMS_PER_KEY = 5;
/** A stream ends after this long and the browser's EventSource opens a new one, so none outlives a restart's grace period by much. */
export const STREAM_LIFETIME_MS = 5 * 60_000;
/** Changes arriving together are sent once. */
const COALESCE_MS = 50;
/** What the browser waits before reconnecting (the EventSource `retry` field). */
const RETRY_MS = 3_000;

const open = new Map<string, number>();

export interface EventStreamOptions<T> {
  logger: Pick<Logger, 'warn'>;
  /** whose stream this is, for {@link MAX_STREAMS_PER_KEY} */
  key: string;
  /** the data to send now; undefined ends the stream (the user signed out) */
  load: () => Promise<T | undefined>;
  /** calls its argument whenever the data may have changed; answers the unsubscribe */
  watch: (changed: () => void) => () => void;
  /** sends the data again this often even without a change */
  refreshMs: number;
}

/**
 * Answers with a server-sent event stream (HTML's EventSource): `data` is {@link EventStreamOptions.load}'s
 * JSON, sent at once, on every change and every `refreshMs`. Ends when the browser goes, the data
 * ends, or after {@link STREAM_LIFETIME_MS}; a sixth stream of one key is refused with 429.
 */
export function openEventStream<T>(ctx: Context, options: EventStreamOptions<T>): void {
  const count = open.get(options.key) ?? 0;
  if (count >= MAX_STREAMS_PER_KEY) {
    ctx.status = 429;
    ctx.body = { error: 'too_many_requests', error_description: `At most ${MAX_STREAMS_PER_KEY} pages may follow this list at once; close one.` };
    return;
  }
  open.set(options.key, count + 1);
  // Written to the response itself rather than through Koa's body pipeline, which would report
  // every browser leaving the page (a closed connection) as an error.
  const res = ctx.res;
  let ended = false;
  let pending: NodeJS.Timeout | undefined;
  let sending = Promise.resolve();

  const send = () => {
    sending = sending.then(async () => {
      if (ended) return;
      let data: T | undefined;
      try {
        data = await options.load();
      } catch (error) {
        options.logger.warn({ err: error }, 'an event stream could not load its data; it ends and the browser reconnects');
        return end();
      }
      if (data === undefined) return end();
      if (!ended) res.write(`data: ${JSON.stringify(data)}\n\n`);
    });
  };
  const changed = () => {
    pending ??= setTimeout(() => {
      pending = undefined;
      send();
    }, COALESCE_MS);
  };
  const unsubscribe = options.watch(changed);
  const refresh = setInterval(send, options.refreshMs);
  const lifetime = setTimeout(() => end(), STREAM_LIFETIME_MS);
  function end(): void {
    if (ended) return;
    ended = true;
    unsubscribe();
    clearInterval(refresh);
    clearTimeout(lifetime);
    if (pending) clearTimeout(pending);
    const left = (open.get(options.key) ?? 1) - 1;
    if (left > 0) open.set(options.key, left);
    else open.delete(options.key);
    res.end();
  }
  res.once('close', end);
  // The connection stays open past the server's idle timeouts; the lifetime above bounds it.
  ctx.req.socket.setTimeout(0);
  ctx.set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
  ctx.status = 200;
  ctx.respond = false;
  res.writeHead(200);
  res.write(`retry: ${RETRY_MS}\n\n`);
  send();
}
