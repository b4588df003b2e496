// The ingest's side of an SNS HTTP(S) subscription: verifies each message's signature against its signing
// certificate, fetched only from an allow-listed origin and cached, and answers a SubscriptionConfirmation
// by fetching its SubscribeURL only for allow-listed topics. Parsing and the signature math: src/events/sources/sns.ts.
import { X509Certificate } from 'node:crypto';
import { isSnsSignatureValid, type SnsMessage } from '../events/sources/sns';
import { errorMessage, messageWithCause } from '../errors';

/** SNS's own origins; the `*` is one DNS label (the region). */
export const DEFAULT_SNS_ORIGINS = ['https://sns.*.amazonaws.com', 'https://sns.*.amazonaws.com.cn'];

const FETCH_TIMEOUT_MS = 5_000;
const MAX_CERTIFICATE_BYTES = 64 * 1024;
const MAX_CACHED_CERTIFICATES = 64;

export interface SnsGateOptions {
  /** Origins (`https://host[:port]`, `*` = one label or port) the certificate and SubscribeURL may come from. */
  origins?: string[];
  /** Topic ARN patterns (`*` = any text) whose subscriptions are confirmed; messages of other topics are refused. Empty = confirm none, accept any signed message. */
  topics?: string[];
}

/** A message refused for a reason the sender should see (403). */
export class SnsRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnsRefusedError';
  }
}

export class SnsGate {
  private readonly origins: RegExp[];
  private readonly topics: RegExp[];
  private readonly certificates = new Map<string, Promise<X509Certificate>>();

  constructor(options: SnsGateOptions = {}) {
    this.origins = (options.origins?.length ? options.origins : DEFAULT_SNS_ORIGINS).map(originPattern);
    this.topics = (options.topics ?? []).map(topicPattern);
  }

  /** Throws SnsRefusedError unless the message is signed by SNS (as the allow-list defines it) and its topic is allowed. */
  async verify(message: SnsMessage): Promise<void> {
    if (this.topics.length && !this.topics.some((topic) => topic.test(message.TopicArn))) {
      throw new SnsRefusedError(`TopicArn: ${message.TopicArn} is not in BUCKETFLOW_INGEST_SNS_TOPICS`);
    }
    const certificate = await this.certificate(message.SigningCertURL);
    if (!isSnsSignatureValid(message, certificate)) throw new SnsRefusedError('Signature: does not match the message and its signing certificate');
  }

  /** Confirms the subscription (GET SubscribeURL) when its topic is allow-listed; throws SnsRefusedError otherwise. */
  async confirm(message: SnsMessage): Promise<void> {
    if (!this.topics.some((topic) => topic.test(message.TopicArn))) {
      throw new SnsRefusedError(`not confirming the subscription to ${message.TopicArn}: the topic is not in BUCKETFLOW_INGEST_SNS_TOPICS`);
    }
    const url = this.allowedUrl(message.SubscribeURL ?? '', 'SubscribeURL');
    const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`SubscribeURL answered ${response.status}`);
  }

  private certificate(url: string): Promise<X509Certificate> {
    const allowed = this.allowedUrl(url, 'SigningCertURL').href;
    const cached = this.certificates.get(allowed);
    if (cached) return cached;
    const loading = fetchCertificate(allowed);
    if (this.certificates.size >= MAX_CACHED_CERTIFICATES) this.certificates.delete(this.certificates.keys().next().value!);
    this.certificates.set(allowed, loading);
    // A failed fetch or an expired certificate is forgotten, so the next message fetches again.
    loading.then(
      (certificate) => setTimeout(() => this.certificates.delete(allowed), cacheMs(certificate)).unref(),
      () => this.certificates.delete(allowed),
    );
    return loading;
  }

  private allowedUrl(text: string, field: string): URL {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new SnsRefusedError(`${field}: not a URL`);
    }
    if (url.username || url.password || !this.origins.some((origin) => origin.test(url.origin))) {
      throw new SnsRefusedError(`${field}: ${url.origin} is not an allowed SNS origin (BUCKETFLOW_INGEST_SNS_ORIGINS)`);
    }
    return url;
  }
}

async function fetchCertificate(url: string): Promise<X509Certificate> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (err) {
    throw new Error(`SigningCertURL: fetching ${url} failed: ${messageWithCause(err)}`);
  }
  const body = Buffer.from(await response.arrayBuffer());
  if (!response.ok) throw new Error(`SigningCertURL: ${url} answered ${response.status}`);
  if (body.length > MAX_CERTIFICATE_BYTES) throw new SnsRefusedError(`SigningCertURL: larger than ${MAX_CERTIFICATE_BYTES} bytes`);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(body);
  } catch (err) {
    throw new SnsRefusedError(`SigningCertURL: not a certificate (${errorMessage(err)})`);
  }
  const now = Date.now();
  if (now < Date.parse(certificate.validFrom) || now > Date.parse(certificate.validTo)) {
    throw new SnsRefusedError(`SigningCertURL: certificate not valid now (${certificate.validFrom} - ${certificate.validTo})`);
  }
  return certificate;
}

function escape(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\/]/g, '\\$&');
}

/** `https://sns.*.amazonaws.com` -> matches `https://sns.us-east-1.amazonaws.com`; `*` never spans a dot or colon. */
function originPattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.trim().replace(/\/+$/, '').split('*').map(escape).join('[A-Za-z0-9-]+')}$`, 'i');
}

function topicPattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.trim().split('*').map(escape).join('.*')}$`);
}

/** Kept until the certificate expires, at most a day (SNS rotates its certificates). */
function cacheMs(certificate: X509Certificate): number {
  return Math.max(0, Math.min(Date.parse(certificate.validTo) - Date.now(), 24 * 3_600_000));
}
