// Webhook target: POSTs the event envelope as JSON, as MinIO's webhook target does.
import { Agent, request } from 'undici';
import type { WebhookConfig } from '../config/targets';
import { parseSigningSecrets, signWebhook } from '../webhook-signature';
import { configError, dialTcp, EVENT_ID_HEADER, envelopeJson, errorMessage, probeHealth, readPemFile } from './common';
import { PermanentDeliveryError, type Delivery, type Target } from './target';

const SNIPPET_CHARS = 200;

export function create(arn: string, config: WebhookConfig): Target {
  const endpoint = parseEndpoint(arn, config.endpoint);
  const label = `POST ${endpoint.origin}${endpoint.pathname}`; // no userinfo or query: they may hold secrets
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'bucketflow',
    ...authorization(arn, config.auth_token),
  };
  const agent = new Agent({ connect: clientCertificate(arn, config) });
  const signingKeys = signingKeysOf(arn, config.signing_secret);

  return {
    arn,
    async send(delivery: Delivery) {
      const body = envelopeJson(delivery);
      // A fresh timestamp per attempt (receivers refuse old ones); the id is the event's, stable across retries.
      const signature = signingKeys.length
        ? signWebhook({ id: delivery.eventId, timestamp: Math.floor(Date.now() / 1000), body }, signingKeys)
        : {};
      const response = await request(endpoint, {
        method: 'POST',
        dispatcher: agent,
        headers: { ...headers, [EVENT_ID_HEADER]: delivery.eventId, ...signature },
        body,
        signal: AbortSignal.timeout(config.timeout_ms),
      }).catch((err: unknown) => {
        throw new Error(`${arn}: ${label}: ${errorMessage(err)}`, { cause: err });
      });
      const answer = await response.body.text().catch(() => '');
      const failure = failureOf(response.statusCode);
      if (failure) throw failure(`${arn}: ${label} answered ${response.statusCode}: ${snippet(answer)}`);
    },
    health: () => probeHealth(() => dialTcp(endpoint.hostname.replace(/^\[|\]$/g, ''), portOf(endpoint))),
    close: () => agent.close(),
  };
}

function parseEndpoint(arn: string, endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw configError(arn, 'endpoint', `not a URL: ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError(arn, 'endpoint', `must be an http or https URL, got ${url.protocol}`);
  }
  return url;
}

/** MinIO's rule: one word is a bearer token, two words ("<scheme> <credentials>") are sent verbatim. */
function authorization(arn: string, token: string): Record<string, string> {
  const words = token.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return {};
  if (words.length === 1) return { authorization: `Bearer ${words[0]}` };
  if (words.length === 2) return { authorization: words.join(' ') };
  throw configError(arn, 'auth_token', 'expected a token or "<scheme> <credentials>"');
}

function signingKeysOf(arn: string, secrets: string): Buffer[] {
  if (!secrets.trim()) return [];
  try {
    return parseSigningSecrets(secrets);
  } catch (err) {
    throw configError(arn, 'signing_secret', errorMessage(err));
  }
}

function clientCertificate(arn: string, config: WebhookConfig): { cert?: Buffer; key?: Buffer } {
  if (!config.client_cert && !config.client_key) return {};
  if (!config.client_cert) throw configError(arn, 'client_cert', 'required with client_key');
  if (!config.client_key) throw configError(arn, 'client_key', 'required with client_cert');
  return {
    cert: readPemFile(arn, 'client_cert', config.client_cert),
    key: readPemFile(arn, 'client_key', config.client_key),
  };
}

type ErrorFactory = (message: string) => Error;

/** 2xx delivers; 408, 429 and 5xx may pass on retry; any other status will not. */
function failureOf(status: number): ErrorFactory | undefined {
  if (status >= 200 && status < 300) return undefined;
  if (status === 408 || status === 429 || status >= 500) return (message) => new Error(message);
  return (message) => new PermanentDeliveryError(message);
}

function snippet(body: string): string {
  const text = body.replace(/\s+/g, ' ').trim();
  if (!text) return '(empty body)';
  return text.length > SNIPPET_CHARS ? `${text.slice(0, SNIPPET_CHARS)}…` : text;
}

function portOf(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}
