// A loopback TCP forwarder a test can cut and restore, to make a real server (Temporal, Kafka) unreachable for
// one client without stopping the server everyone else shares.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** Carries one accepted connection's bytes both ways (default: as they come); the proxy cuts both sockets on down(). */
export type Relay = (client: net.Socket, upstream: net.Socket, proxy: TcpProxy) => void;

export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Added to every chunk in both directions: a server that is reachable but slow. */
  delayMs = 0;

  private constructor(
    private readonly target: { host: string; port: number },
    private readonly relay?: Relay,
    private port = 0,
  ) {}

  static async start(target: { host: string; port: number }, relay?: Relay): Promise<TcpProxy> {
    const proxy = new TcpProxy(target, relay);
    await proxy.up();
    return proxy;
  }

  /** The port it listens on (the same after down() and up()). */
  get listenPort(): number {
    return this.port;
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
      if (this.relay) this.relay(client, upstream, this);
      else {
        this.forward(client, upstream);
        this.forward(upstream, client);
      }
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
