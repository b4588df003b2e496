// A loopback TCP forwarder a test can cut and restore, to make a real server (Temporal) unreachable for
// one client without stopping the server everyone else shares.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Added to every chunk in both directions: a server that is reachable but slow. */
  delayMs = 0;

  private constructor(private readonly target: { host: string; port: number }, private port = 0) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await proxy.up();
    return proxy;
  }

  /** `127.0.0.1:<port>`: the address to give the client. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Listens (again, on the same port) and forwards every connection to the target. */
  async up(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      this.forward(client, upstream);
      this.forward(upstream, client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private forward(from: net.Socket, to: net.Socket): void {
    // A constant delay per chunk keeps the order: timers of equal delay fire in the order they were set.
    from.on('data', (chunk) => (this.delayMs ? setTimeout(() => to.write(chunk), this.delayMs) : to.write(chunk)));
    from.on('end', () => setTimeout(() => to.end(), this.delayMs));
  }

  /** Stops listening and cuts every open connection: the client now gets "connection refused". */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
