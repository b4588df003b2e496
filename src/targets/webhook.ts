// Webhook target: POSTs the event envelope as JSON, as MinIO's webhook target does, or as a CloudEvent (`format`:
// structured, or binary with ce-* headers); a batch is one POST per event, many in flight over kept-alive connections.
import { Agent, request } from 'undici';
import type { WebhookConfig } from '../config/targets';
import { parseSigningSecrets, signWebhook } from '../webhook-signature';
import { errorMessage } from '../errors';
import { authorizationFor } from '../config/auth-token';
import { EVENT_ID_HEADER, readPemFile } from './common';
import { attributeHeaders, encodeMessage, percentEncodeHeaderValue } from './message-format';
import { dialTcp, probeHealth } from './shared-connection';
import { PermanentDeliveryError } from '../delivery/failure';
import { bulkTarget, DELIVERED, failed, forEachBounded, objectChains } from './send';
import type { BatchSendResult, Delivery, Target } from './target';

const SNIPPET_CHARS = 200;
/** POSTs of one batch in flight at once (MinIO's own webhook sender keeps at most a few). */
const BATCH_CONCURRENCY = 16;

/** `config` has passed the loader's checks (src/config/targets.ts): the URL, the token and the cert pair are valid. */
export function create(arn: string, config: WebhookConfig): Target {
  const endpoint = new URL(config.endpoint);
  const label = `POST ${endpoint.origin}${endpoint.pathname}`; // no userinfo or query: they may hold secrets
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'bucketflow',
  };
  const authorization = authorizationFor(config.auth_token);
  if (authorization) headers.authorization = authorization;
  const agent = new Agent({ connect: clientCertificate(arn, config) });
  const signingKeys = config.signing_secret.trim() ? parseSigningSecrets(config.signing_secret) : [];

  const post = async (delivery: Delivery) => {
    const { body, contentType, binary } = encodeMessage(delivery, config.format);
    // HTTP binding, binary mode: every attribute but datacontenttype (the Content-Type) as a ce- header.
    const cloudEventHeaders = binary ? attributeHeaders(binary, 'ce-', { encode: percentEncodeHeaderValue }) : {};
    // A fresh timestamp per attempt (receivers refuse old ones); the id is the event's, stable across retries.
    const signature = signingKeys.length
      ? signWebhook({ id: delivery.eventId, timestamp: Math.floor(Date.now() / 1000), body }, signingKeys)
      : {};
    const response = await request(endpoint, {
      method: 'POST',
      dispatcher: agent,
      headers: {
        ...headers,
        'content-type': contentType,
        ...cloudEventHeaders,
        [EVENT_ID_HEADER]: delivery.eventId,
        ...signature,
      },
      body,
      signal: AbortSignal.timeout(config.timeout_ms),
    }).catch((err: unknown) => {
      throw new Error(`${arn}: ${label}: ${errorMessage(err)}`, { cause: err });
    });
    const answer = await response.body.text().catch(() => '');
    const failure = failureOf(response.statusCode);
    if (failure) throw failure(`${arn}: ${label} answered ${response.statusCode}: ${snippet(answer)}`);
  };

  return bulkTarget({
    arn,
    // One POST per event, as MinIO sends them, up to BATCH_CONCURRENCY at once over the agent's kept-alive
    // connections; one object's events one after another, so they arrive in sequencer order.
    async sendOrdered(ordered) {
      const results: BatchSendResult[] = new Array(ordered.length);
      await forEachBounded(objectChains(ordered), BATCH_CONCURRENCY, async (chain) => {
        for (const index of chain) results[index] = await post(ordered[index]).then(() => DELIVERED, failed);
      });
      return results;
    },
    health: () => probeHealth(() => dialTcp(endpoint.hostname.replace(/^\[|\]$/g, ''), portOf(endpoint))),
    close: () => agent.close(),
  });
}

function clientCertificate(arn: string, config: WebhookConfig): { cert?: Buffer; key?: Buffer } {
  if (!config.client_cert) return {};
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
