// Certificates made for a test run with the machine's openssl: a self-signed one for the TLS ingest, and an
// SNS-style signing certificate served from a loopback HTTP server (never AWS's).
import { execFileSync } from 'node:child_process';
import { createSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { snsStringToSign, type SnsMessage } from '../../src/http/sns';

export interface KeyPair {
  key: string;
  cert: string;
}

/** A fresh RSA key and self-signed certificate for `commonName`, valid for loopback (DNS localhost, IP 127.0.0.1). */
export function selfSignedCertificate(commonName = 'localhost'): KeyPair {
  const dir = mkdtempSync(path.join(tmpdir(), 'bucketflow-cert-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A loopback stand-in for SNS: serves its signing certificate, records SubscribeURL visits, signs messages. */
export class FakeSns {
  readonly requests: string[] = [];
  private constructor(
    private readonly server: http.Server,
    readonly keys: KeyPair,
  ) {}

  /** `commonName`: the signing certificate's subject (SNS's is sns.amazonaws.com). */
  static async start(commonName = 'sns.amazonaws.com'): Promise<FakeSns> {
    const keys = selfSignedCertificate(commonName);
    const server = http.createServer((req, res) => {
      sns.requests.push(req.url!);
      if (req.url!.endsWith('.pem')) res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(keys.cert);
      else res.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>');
    });
    const sns = new FakeSns(server, keys); // requests arrive only once it listens, below
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return sns;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The message with its URLs moved to this server, sent now (unless `overrides` say when) and signed as SNS signs
   * (SignatureVersion 1 or 2). */
  sign<T extends Record<string, unknown>>(fixture: T, overrides: Partial<SnsMessage> = {}): T {
    const message = { ...fixture, Timestamp: new Date().toISOString(), ...overrides } as unknown as SnsMessage;
    const local = (url: string | undefined) => url && url.replace(/^https:\/\/[^/]+/, this.origin);
    message.SigningCertURL = local(overrides.SigningCertURL ?? message.SigningCertURL)!;
    if (message.SubscribeURL) message.SubscribeURL = local(message.SubscribeURL);
    if (message.UnsubscribeURL) message.UnsubscribeURL = local(message.UnsubscribeURL);
    const signer = createSign(message.SignatureVersion === '2' ? 'RSA-SHA256' : 'RSA-SHA1');
    signer.update(snsStringToSign(message), 'utf8');
    message.Signature = signer.sign(this.keys.key, 'base64');
    return message as unknown as T;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
