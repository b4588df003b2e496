// Debian's nginx terminating TLS in front of the Temporal dev server (which speaks only plaintext) with
// grpc_pass, so bucketflow's TLS, mutual-TLS and API-key settings are tested against a real TLS peer.
// Three listeners (endpoints.ts): TLS; mutual TLS, refusing a client without a certificate signed by the
// stack's CA; TLS where the proxy checks the `authorization` header for the stack's API key. The CA and
// the certificates are made once with openssl under .stack/temporal-tls/pki/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ensurePackages } from '../apt';
import { endpoints } from '../endpoints';
import { serviceDir } from '../paths';
import type { Service } from '../service';

/** The API key the proxy in front of endpoints.temporalApiKey accepts (a dev credential, like the databases'). */
export const TEMPORAL_TEST_API_KEY = process.env.BUCKETFLOW_TEST_TEMPORAL_API_KEY || 'bucketflow-dev-api-key';

/** PEM files: the CA the proxy's server certificate and the client certificate are signed with. */
export const temporalTlsFiles = {
  ca: serviceDir('temporal-tls', 'pki', 'ca.pem'),
  clientCert: serviceDir('temporal-tls', 'pki', 'client.pem'),
  clientKey: serviceDir('temporal-tls', 'pki', 'client.key'),
};

const pki = serviceDir('temporal-tls', 'pki');
const port = (address: string) => address.slice(address.lastIndexOf(':') + 1);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for loopback (localhost, 127.0.0.1) and a client certificate, all from the CA. */
function makeCertificates(): void {
  if (existsSync(temporalTlsFiles.clientCert)) return;
  mkdirSync(pki, { recursive: true });
  const file = (name: string) => path.join(pki, name);
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '3650',
    '-subj',
    '/CN=bucketflow stack CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  for (const [name, subject, extension] of [
    ['server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
    ['client', '/CN=bucketflow-worker', 'extendedKeyUsage=clientAuth'],
  ]) {
    writeFileSync(file(`${name}.ext`), `${extension}\n`);
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
    );
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.pem`),
    );
  }
}

function nginxConfig(dir: string): string {
  const grpc = [
    '      grpc_pass grpc://temporal;',
    '      grpc_read_timeout 300s;', // worker long polls last ~70 s
    '      grpc_send_timeout 300s;',
  ];
  // A refusal as gRPC reports it (status 16 UNAUTHENTICATED with a message), not an HTML page.
  const refuse = (message: string) => [
    '      add_header grpc-status 16 always;',
    `      add_header grpc-message "${message}" always;`,
    '      default_type application/grpc;',
    '      return 200;',
  ];
  return [
    'daemon off;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    'error_log stderr notice;',
    'events { worker_connections 512; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/temp/${kind};`),
    '  client_max_body_size 0;',
    `  ssl_certificate ${pki}/server.pem;`,
    `  ssl_certificate_key ${pki}/server.key;`,
    `  upstream temporal { server ${endpoints.temporal}; keepalive 32; }`,
    '  server {',
    `    listen 127.0.0.1:${port(endpoints.temporalTls)} ssl http2;`,
    '    location / {',
    ...grpc,
    '    }',
    '  }',
    '  server {',
    `    listen 127.0.0.1:${port(endpoints.temporalMtls)} ssl http2;`,
    `    ssl_client_certificate ${pki}/ca.pem;`,
    '    ssl_verify_client on;',
    '    error_page 495 496 = @no_client_certificate;', // 496: none sent, 495: not signed by the CA
    '    location / {',
    ...grpc,
    '    }',
    '    location @no_client_certificate {',
    ...refuse('mutual TLS: the proxy requires a client certificate signed by its CA'),
    '    }',
    '  }',
    '  server {',
    `    listen 127.0.0.1:${port(endpoints.temporalApiKey)} ssl http2;`,
    '    location / {',
    `      if ($http_authorization != "Bearer ${TEMPORAL_TEST_API_KEY}") { return 418; }`,
    ...grpc,
    '      error_page 418 = @wrong_api_key;',
    '    }',
    '    location @wrong_api_key {',
    ...refuse('missing or wrong API key'),
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

export const temporalTls: Service = {
  name: 'temporal-tls',
  endpoint: `${endpoints.temporalTls} tls, ${endpoints.temporalMtls} mtls, ${endpoints.temporalApiKey} api key`,
  startTimeoutMs: 90_000, // answers once the dev server behind it does

  async install() {
    await ensurePackages(['nginx']);
  },

  async prepare() {
    const dir = serviceDir('temporal-tls');
    makeCertificates();
    for (const kind of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
      mkdirSync(path.join(dir, 'temp', kind), { recursive: true });
    const config = path.join(dir, 'nginx.conf');
    writeFileSync(config, nginxConfig(dir));
    return { command: '/usr/sbin/nginx', args: ['-c', config, '-p', dir, '-e', 'stderr'] };
  },

  async probe() {
    // A gRPC round trip through the TLS listener, trusting only the stack's CA: this checkout's proxy, working.
    const connection = await Connection.connect({
      address: endpoints.temporalTls,
      tls: { serverRootCACertificate: readFileSync(temporalTlsFiles.ca), serverNameOverride: 'localhost' },
      connectTimeout: 3_000,
    });
    try {
      const info = await connection.workflowService.getSystemInfo({});
      return `nginx TLS proxy -> Temporal ${info.serverVersion ?? '?'}`;
    } finally {
      await connection.close();
    }
  },
};
