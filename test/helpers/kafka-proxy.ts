// A loopback proxy in front of the stack's Kafka broker that a test can cut and restore (a TcpProxy), to make Kafka
// unreachable for one client without stopping the broker every other test shares. A Kafka client reaches the
// bootstrap address it was given only for its first request: from then on it connects to the addresses the broker
// advertises in Metadata and FindCoordinator responses. A plain TCP forwarder would be bypassed that way, so this
// relay reads the protocol's frames and rewrites the advertised host and port in those two responses to the proxy's
// own. It knows the non-flexible versions kafkajs speaks (Metadata v0-v8, FindCoordinator v0-v2) and cuts the
// connection on any other, so a client it cannot keep behind the proxy fails loudly instead of slipping past it.
import type net from 'node:net';
import { TcpProxy } from './tcp-proxy';

const METADATA = 3;
const FIND_COORDINATOR = 10;
const HOST = '127.0.0.1';

/** Starts a proxy to the broker at `broker` (`host:port`); give the client `proxy.address` as its broker. */
export async function startKafkaProxy(broker: string): Promise<TcpProxy> {
  const [host, port] = broker.split(':');
  return TcpProxy.start({ host, port: Number(port) }, relayKafka);
}

function relayKafka(client: net.Socket, upstream: net.Socket, proxy: TcpProxy): void {
  const asked = new Map<number, { apiKey: number; version: number }>();
  frames(client, (frame) => {
    // Request header: api_key int16, api_version int16, correlation_id int32, ...
    asked.set(frame.readInt32BE(4), { apiKey: frame.readInt16BE(0), version: frame.readInt16BE(2) });
    upstream.write(framed(frame));
  });
  frames(upstream, (frame) => {
    const correlationId = frame.readInt32BE(0);
    const request = asked.get(correlationId);
    asked.delete(correlationId);
    try {
      client.write(framed(request ? rewrite(frame, request.apiKey, request.version, proxy.listenPort) : frame));
    } catch (err) {
      client.destroy(err as Error);
      upstream.destroy();
    }
  });
}

/** Calls `onFrame` with each size-prefixed frame's payload, in order, however the bytes were split. */
function frames(socket: net.Socket, onFrame: (frame: Buffer) => void): void {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = pending.readInt32BE(0);
      onFrame(pending.subarray(4, 4 + size));
      pending = pending.subarray(4 + size);
    }
  });
}

function framed(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

/** The response with every advertised broker address replaced by the proxy's (other responses as they are). */
function rewrite(response: Buffer, apiKey: number, version: number, port: number): Buffer {
  if (apiKey !== METADATA && apiKey !== FIND_COORDINATOR) return response;
  const reader = new Reader(response, 4); // after the correlation id
  const parts: Buffer[] = [];
  let copiedUpTo = 0;
  /** Replaces the host string and port int32 at the reader's position. */
  const replaceAddress = () => {
    const start = reader.at;
    reader.string();
    reader.skip(4);
    parts.push(response.subarray(copiedUpTo, start), address(port));
    copiedUpTo = reader.at;
  };
  if (apiKey === METADATA) {
    if (version > 8) throw new Error(`kafka proxy: Metadata v${version} is not known to the proxy`);
    if (version >= 3) reader.skip(4); // throttle_time_ms
    const brokers = reader.int32();
    for (let i = 0; i < brokers; i++) {
      reader.skip(4); // node_id
      replaceAddress();
      if (version >= 1) reader.string(); // rack
    }
  } else {
    if (version > 2) throw new Error(`kafka proxy: FindCoordinator v${version} is not known to the proxy`);
    if (version >= 1) reader.skip(4); // throttle_time_ms
    reader.skip(2); // error_code
    if (version >= 1) reader.string(); // error_message
    reader.skip(4); // node_id
    replaceAddress();
  }
  parts.push(response.subarray(copiedUpTo));
  return Buffer.concat(parts);
}

function address(port: number): Buffer {
  const out = Buffer.alloc(2 + HOST.length + 4);
  out.writeInt16BE(HOST.length, 0);
  out.write(HOST, 2, 'latin1');
  out.writeInt32BE(port, 2 + HOST.length);
  return out;
}

class Reader {
  constructor(
    private readonly buffer: Buffer,
    public at: number,
  ) {}
  skip(bytes: number): void {
    this.at += bytes;
  }
  int32(): number {
    const value = this.buffer.readInt32BE(this.at);
    this.at += 4;
    return value;
  }
  /** A (nullable) int16-length string, skipped. */
  string(): void {
    const length = this.buffer.readInt16BE(this.at);
    this.at += 2 + Math.max(0, length);
  }
}
