// A real HTTP receiver on loopback for webhook targets: records every request and answers from a script.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Date.now() when the request's body had arrived. */
  receivedAt: number;
  /** The client's port: requests sharing it came over one kept-alive connection. */
  remotePort?: number;
}

/** A status code to answer with, or 'hang' to never answer (a stuck target). */
export type Reply = number | 'hang';

export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly script: Reply[];
  private readonly server: http.Server;
  private waiters: Array<() => void> = [];

  private constructor(
    script: Reply[],
    private readonly fallback: Reply,
    private readonly delayMs: number,
    private readonly answer?: (request: ReceivedRequest) => Reply | undefined,
  ) {
    this.script = [...script];
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request = {
          method: req.method!,
          url: req.url!,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
          receivedAt: Date.now(),
          remotePort: req.socket.remotePort,
        };
        this.requests.push(request);
        this.waiters.splice(0).forEach((wake) => wake());
        const reply = this.answer?.(request) ?? this.script.shift() ?? this.fallback;
        if (reply === 'hang') return;
        setTimeout(() => {
          res.writeHead(reply, { 'content-type': 'text/plain' }).end(reply < 300 ? 'ok' : `scripted ${reply}`);
        }, this.delayMs);
      });
    });
  }

  /**
   * Answers what `answer` says for a request (e.g. by its event id), else the scripted replies in order, then
   * `fallback` (200 unless told), each after `delayMs` (a slow target); `port` to come back where a closed one was.
   */
  static async start(
    script: Reply[] = [],
    fallback: Reply = 200,
    {
      delayMs = 0,
      port = 0,
      answer,
    }: { delayMs?: number; port?: number; answer?: (request: ReceivedRequest) => Reply | undefined } = {},
  ): Promise<Receiver> {
    const receiver = new Receiver(script, fallback, delayMs, answer);
    await new Promise<void>((resolve) => receiver.server.listen(port, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async waitForRequests(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} requests, got ${this.requests.length}`);
      await new Promise<void>((wake) => {
        this.waiters.push(wake);
        setTimeout(wake, 200);
      });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
