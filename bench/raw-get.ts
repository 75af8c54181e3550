/**
 * GETs of a fixed document over raw keep-alive sockets: the request bytes are made once, the answer
 * is read only as far as its status line and `Content-Length`. For the static documents (JWKS,
 * discovery) the generator's own cost decides the result: through `node:http` it spent about
 * 0.1 ms per request, as much as the baseline server spent answering, which capped any server at
 * about 2x the baseline (see "Ceiling" in docs/benchmarks.md); this spends about a third of that.
 * Bodies must come with `Content-Length` (both servers send it for these documents): anything else
 * is an error, not a guess.
 */
import { connect, type Socket } from 'node:net';

interface Pending {
  resolve: (status: number) => void;
  reject: (error: Error) => void;
}

class RawConnection {
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: Pending | undefined;
  closed = false;

  constructor(url: URL) {
    this.#socket = connect(Number(url.port || 80), url.hostname);
    this.#socket.setNoDelay(true);
    this.#socket.on('data', (chunk: Buffer) => this.#read(chunk));
    const fail = (error: Error) => {
      this.closed = true;
      this.#pending?.reject(error);
      this.#pending = undefined;
    };
    this.#socket.on('error', fail);
    this.#socket.on('close', () => fail(new Error('the server closed the connection')));
  }

  send(request: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#socket.write(request);
    });
  }

  #read(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const headEnd = this.#buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.#buffer.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    const status = Number(head.slice(9, 12));
    if (!length && status !== 304) {
      this.#pending?.reject(new Error(`answer without Content-Length (status ${status})`));
      this.#socket.destroy();
      return;
    }
    const total = headEnd + 4 + (length ? Number(length[1]) : 0);
    if (this.#buffer.length < total) return;
    this.#buffer = this.#buffer.subarray(total);
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve(status);
  }

  close(): void {
    this.closed = true;
    this.#socket.destroy();
  }
}

/** Keep-alive GETs to one origin; one connection per concurrent request, reused. */
export class RawGetPool {
  readonly #idle: RawConnection[] = [];
  readonly #all = new Set<RawConnection>();
  readonly #requests = new Map<string, Buffer>();

  /** The answer's status code. */
  async get(url: string, accept = 'application/json'): Promise<number> {
    const target = new URL(url);
    let request = this.#requests.get(url);
    if (!request) {
      request = Buffer.from(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nAccept: ${accept}\r\n\r\n`, 'latin1');
      this.#requests.set(url, request);
    }
    let connection = this.#idle.pop();
    while (connection?.closed) connection = this.#idle.pop();
    if (!connection) {
      connection = new RawConnection(target);
      this.#all.add(connection);
    }
    const status = await connection.send(request);
    this.#idle.push(connection);
    return status;
  }

  close(): void {
    for (const connection of this.#all) connection.close();
    this.#all.clear();
    this.#idle.length = 0;
  }
}
