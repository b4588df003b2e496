// Amazon SNS HTTP(S) subscriptions, the whole protocol in this one module (SNS's "message and JSON formats" and
// "verifying the signatures" guides): the envelope (`Notification`, `SubscriptionConfirmation`,
// `UnsubscribeConfirmation`), the topic allow-list, freshness (a message older than an hour is refused, so a captured
// one cannot be replayed), the signature against the signing certificate (fetched only from an allow-listed origin
// shaped like SNS's own, its subject and validity checked, cached by origin and path: a query string makes no new
// fetch, at most CERTIFICATE_FETCHES_PER_MINUTE new ones, and only a valid certificate takes a place in the cache),
// optionally SignatureVersion 2 only (SHA-256; BUCKETFLOW_INGEST_SNS_MIN_SIGNATURE_VERSION), subscription
// confirmation, and unwrapping the S3 event a Notification carries. The ingest hands it any body detected as SNS
// and gets events or an answer back.
import { createVerify, X509Certificate } from 'node:crypto';
import {
  EventValidationError,
  expectObject,
  parseEventBody,
  parseJson,
  requireString,
  type ParsedBody,
} from '../events';
import { optionalString } from '../events/sources/fields';
import { errorMessage, messageWithCause } from '../errors';
import { log } from '../telemetry/log';
import { refuse } from './answers';

/** SNS's own origins: `<region>` is an AWS region name (`us-east-1`, `cn-north-1`), `*` one DNS label or a port. */
export const DEFAULT_SNS_ORIGINS = ['https://sns.<region>.amazonaws.com', 'https://sns.<region>.amazonaws.com.cn'];
/** The subject (CN) of SNS's signing certificates. */
export const SNS_CERTIFICATE_SUBJECTS = ['sns.amazonaws.com', 'sns.amazonaws.com.cn'];
/** Messages older (or further in the future) than this are refused. */
export const SNS_MAX_AGE_MS = 3_600_000;

const FETCH_TIMEOUT_MS = 5_000;
const MAX_CERTIFICATE_BYTES = 64 * 1024;
const MAX_CACHED_CERTIFICATES = 64;
/** SNS signs with one certificate per region at a time: more new ones than this in a minute is someone else's doing. */
export const CERTIFICATE_FETCHES_PER_MINUTE = 10;
const REGION = '[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}';

export const SNS_MESSAGE_TYPES = ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'] as const;
export type SnsMessageType = (typeof SNS_MESSAGE_TYPES)[number];

export interface SnsMessage {
  Type: SnsMessageType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: '1' | '2';
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
  UnsubscribeURL?: string;
}

export interface SnsOptions {
  /** Origins (`https://host[:port]`; `*` = one label or port, `<region>` = a region name) certificates and
   * SubscribeURLs may come from. */
  origins?: string[];
  /** Topic ARN patterns (`*` = any text; `*` alone = any topic) accepted and confirmed. Empty = every message refused.
   * */
  topics?: string[];
  /** Accepted certificate subjects (CN); default SNS's own. */
  certificateSubjects?: string[];
  maxAgeMs?: number;
  /** 2: SignatureVersion 1 (SHA1withRSA) is refused (BUCKETFLOW_INGEST_SNS_MIN_SIGNATURE_VERSION). Default 1: both. */
  minSignatureVersion?: 1 | 2;
  /** A Notification whose message carries more records is refused (TooManyRecordsError) before any is read. */
  maxRecords?: number;
}

/** What a verified SNS message comes to: events to publish, or an answer that ends the request (confirmations). */
export type SnsReceipt = { events: ParsedBody } | { answer: Record<string, string> };

export class SnsEndpoint {
  private readonly origins: RegExp[];
  private readonly topics: RegExp[];
  private readonly subjects: ReadonlySet<string>;
  private readonly maxAgeMs: number;
  private readonly minSignatureVersion: 1 | 2;
  private readonly maxRecords: number;
  /** Valid certificates by origin and path, oldest first. */
  private readonly certificates = new Map<string, X509Certificate>();
  /** Fetches under way: a message signed with the same certificate waits for the same fetch. */
  private readonly fetching = new Map<string, Promise<X509Certificate>>();
  /** When the recent fetches began (the last minute's). */
  private fetchTimes: number[] = [];

  constructor(options: SnsOptions = {}) {
    this.origins = (options.origins?.length ? options.origins : DEFAULT_SNS_ORIGINS).map(originPattern);
    this.topics = (options.topics ?? []).map(topicPattern);
    this.subjects = new Set(
      (options.certificateSubjects ?? SNS_CERTIFICATE_SUBJECTS).map((subject) => subject.toLowerCase()),
    );
    this.maxAgeMs = options.maxAgeMs ?? SNS_MAX_AGE_MS;
    this.minSignatureVersion = options.minSignatureVersion ?? 1;
    this.maxRecords = options.maxRecords ?? Infinity;
  }

  /**
   * A body detected as SNS: throws EventValidationError (400) for a malformed envelope, a Refusal (403) for a
   * foreign topic, a stale message or a bad signature, a Refusal (502) when the certificate or SubscribeURL could
   * not be fetched (SNS retries), TooManyRecordsError (413) for a Notification of more than maxRecords records. A
   * confirmation is answered here; a Notification yields its S3 events.
   */
  async receive(body: unknown, now = Date.now()): Promise<SnsReceipt> {
    const message = parseSnsMessage(body);
    if (Number(message.SignatureVersion) < this.minSignatureVersion) {
      throw refuse.forbidden(
        `SignatureVersion: ${message.SignatureVersion} (SHA1) is refused (BUCKETFLOW_INGEST_SNS_MIN_SIGNATURE_VERSION=${this.minSignatureVersion}); set the topic's SignatureVersion attribute to 2`,
      );
    }
    this.checkTopic(message);
    this.checkFresh(message, now);
    await this.verify(message);
    switch (message.Type) {
      case 'SubscriptionConfirmation':
        await this.confirm(message);
        log('INFO', 'SNS subscription confirmed', { topic: message.TopicArn });
        return { answer: { confirmed: message.TopicArn } };
      case 'UnsubscribeConfirmation':
        log('INFO', 'SNS subscription ended', { topic: message.TopicArn });
        return { answer: { unsubscribed: message.TopicArn } };
      default:
        return { events: unwrapNotification(message.Message, this.maxRecords) };
    }
  }

  private checkTopic(message: SnsMessage): void {
    if (!this.topics.some((topic) => topic.test(message.TopicArn))) {
      throw refuse.forbidden(
        `TopicArn: ${message.TopicArn} is not in BUCKETFLOW_INGEST_SNS_TOPICS (set it to the topic's ARN, or * for any topic)`,
      );
    }
  }

  private checkFresh(message: SnsMessage, now: number): void {
    const sent = Date.parse(message.Timestamp);
    if (Number.isNaN(sent)) throw new EventValidationError('Timestamp', 'not an ISO-8601 time');
    if (Math.abs(now - sent) > this.maxAgeMs) {
      throw refuse.forbidden(
        `Timestamp: ${message.Timestamp} is more than ${this.maxAgeMs / 60_000} minutes from now (a replayed message?)`,
      );
    }
  }

  /** The signature, against a certificate fetched from an allowed origin whose subject is SNS's. */
  private async verify(message: SnsMessage): Promise<void> {
    const certificate = await this.certificate(message.SigningCertURL);
    if (!isSnsSignatureValid(message, certificate))
      throw refuse.forbidden('Signature: does not match the message and its signing certificate');
  }

  /** GET SubscribeURL (the topic is allow-listed: checked before). */
  private async confirm(message: SnsMessage): Promise<void> {
    const url = this.allowedUrl(message.SubscribeURL ?? '', 'SubscribeURL');
    let response: Response;
    try {
      response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      await response.arrayBuffer();
    } catch (err) {
      log('ERROR', 'SNS SubscribeURL could not be fetched', { url: url.origin, error: messageWithCause(err) });
      throw refuse.badGateway(`SubscribeURL: fetching ${url.origin} failed`);
    }
    if (!response.ok) throw refuse.badGateway(`SubscribeURL: ${url.origin} answered ${response.status}`);
  }

  /** The certificate at `text`'s origin and path (its query and fragment ignored), cached while valid (at most a day).
   * */
  private async certificate(text: string, now = Date.now()): Promise<X509Certificate> {
    const allowed = this.allowedUrl(text, 'SigningCertURL');
    const url = `${allowed.origin}${allowed.pathname}`;
    const cached = this.certificates.get(url);
    if (cached && now <= Date.parse(cached.validTo)) return cached;
    const pending = this.fetching.get(url);
    if (pending) return pending;
    this.fetchTimes = this.fetchTimes.filter((at) => now - at < 60_000);
    if (this.fetchTimes.length >= CERTIFICATE_FETCHES_PER_MINUTE) {
      throw refuse.unavailable(
        `SigningCertURL: more than ${CERTIFICATE_FETCHES_PER_MINUTE} new signing certificates asked for within a minute; retry later`,
      );
    }
    this.fetchTimes.push(now);
    const loading = fetchCertificate(url, this.subjects);
    this.fetching.set(url, loading);
    try {
      const certificate = await loading;
      // Only a valid certificate takes a place (a failed fetch is forgotten, so the next message fetches again).
      this.certificates.delete(url);
      if (this.certificates.size >= MAX_CACHED_CERTIFICATES)
        this.certificates.delete(this.certificates.keys().next().value!);
      this.certificates.set(url, certificate);
      setTimeout(
        () => this.certificates.get(url) === certificate && this.certificates.delete(url),
        cacheMs(certificate),
      ).unref();
      return certificate;
    } finally {
      this.fetching.delete(url);
    }
  }

  private allowedUrl(text: string, field: string): URL {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw refuse.forbidden(`${field}: not a URL`);
    }
    if (url.username || url.password || !this.origins.some((origin) => origin.test(url.origin))) {
      throw refuse.forbidden(`${field}: ${url.origin} is not an allowed SNS origin (BUCKETFLOW_INGEST_SNS_ORIGINS)`);
    }
    return url;
  }
}

export function parseSnsMessage(body: unknown): SnsMessage {
  const envelope = expectObject(body, 'body');
  const type = requireString(envelope, 'Type', '');
  if (!(SNS_MESSAGE_TYPES as readonly string[]).includes(type)) {
    throw new EventValidationError('Type', `expected one of ${SNS_MESSAGE_TYPES.join(', ')}, got "${type}"`);
  }
  const version = requireString(envelope, 'SignatureVersion', '');
  if (version !== '1' && version !== '2')
    throw new EventValidationError('SignatureVersion', `expected "1" or "2", got "${version}"`);
  const message: SnsMessage = {
    Type: type as SnsMessageType,
    MessageId: requireString(envelope, 'MessageId', ''),
    TopicArn: requireString(envelope, 'TopicArn', ''),
    Message: requireString(envelope, 'Message', ''),
    Timestamp: requireString(envelope, 'Timestamp', ''),
    SignatureVersion: version,
    Signature: requireString(envelope, 'Signature', ''),
    SigningCertURL: requireString(envelope, 'SigningCertURL', ''),
  };
  for (const name of ['Subject', 'SubscribeURL', 'Token', 'UnsubscribeURL'] as const) {
    const value = optionalString(envelope, name, '');
    if (value !== undefined) message[name] = value;
  }
  if (type !== 'Notification') {
    for (const name of ['SubscribeURL', 'Token'] as const)
      if (!message[name]) throw new EventValidationError(name, 'required');
  }
  return message;
}

/** The text SNS signs: `Name\nvalue\n` for each signed field, in this order (absent Subject skipped). */
export function snsStringToSign(message: SnsMessage): string {
  const fields =
    message.Type === 'Notification'
      ? (['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const)
      : (['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const);
  return fields
    .filter((name) => message[name] !== undefined)
    .map((name) => `${name}\n${message[name]}\n`)
    .join('');
}

/** SHA1withRSA for SignatureVersion 1, SHA256withRSA for 2, against the signing certificate's public key. */
export function isSnsSignatureValid(message: SnsMessage, certificate: X509Certificate): boolean {
  const verifier = createVerify(message.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  verifier.update(snsStringToSign(message), 'utf8');
  return verifier.verify(certificate.publicKey, message.Signature, 'base64');
}

/** The S3 event inside a verified Notification's `Message` (AWS S3 records only); errors are prefixed with `Message`.
 * */
export function unwrapNotification(text: string, maxRecords = Infinity): ParsedBody {
  const inner = parseJson(text, 'Message');
  try {
    const parsed = parseEventBody(inner, maxRecords);
    if (parsed.source !== 'aws-s3')
      throw new EventValidationError('body', `expected AWS S3 event records, got a ${parsed.source} body`);
    return { ...parsed, source: 'aws-sns', events: parsed.events.map((event) => ({ ...event, source: 'aws-sns' })) };
  } catch (err) {
    if (err instanceof EventValidationError)
      throw new EventValidationError(
        `Message.${err.field}`.replace(/\.body$/, ''),
        err.message.slice(err.field.length + 2),
      );
    throw err;
  }
}

async function fetchCertificate(url: string, subjects: ReadonlySet<string>): Promise<X509Certificate> {
  const { origin } = new URL(url);
  let body: Buffer;
  let status: number;
  try {
    const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    status = response.status;
    body = Buffer.from(await response.arrayBuffer());
  } catch (err) {
    log('ERROR', 'SNS signing certificate could not be fetched', { url, error: messageWithCause(err) });
    throw refuse.badGateway(`SigningCertURL: fetching from ${origin} failed`);
  }
  if (status < 200 || status > 299) throw refuse.badGateway(`SigningCertURL: ${origin} answered ${status}`);
  if (body.length > MAX_CERTIFICATE_BYTES)
    throw refuse.forbidden(`SigningCertURL: larger than ${MAX_CERTIFICATE_BYTES} bytes`);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(body);
  } catch (err) {
    throw refuse.forbidden(`SigningCertURL: not a certificate (${errorMessage(err)})`);
  }
  const now = Date.now();
  if (now < Date.parse(certificate.validFrom) || now > Date.parse(certificate.validTo)) {
    throw refuse.forbidden(
      `SigningCertURL: certificate not valid now (${certificate.validFrom} - ${certificate.validTo})`,
    );
  }
  const names = commonNames(certificate);
  if (!names.some((name) => subjects.has(name.toLowerCase()))) {
    throw refuse.forbidden(
      `SigningCertURL: certificate subject ${names.map((name) => `CN=${name}`).join(', ') || '(no CN)'} is not SNS's (${[...subjects].join(' or ')})`,
    );
  }
  return certificate;
}

function commonNames(certificate: X509Certificate): string[] {
  return certificate.subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3));
}

function escape(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\/]/g, '\\$&');
}

/** `https://sns.<region>.amazonaws.com` matches `https://sns.us-east-1.amazonaws.com`, never
 * `https://sns.s3-us-west-2.amazonaws.com`. */
export function originPattern(pattern: string): RegExp {
  const parts = pattern
    .trim()
    .replace(/\/+$/, '')
    .split(/(\*|<region>)/);
  const source = parts
    .map((part) => (part === '*' ? '[A-Za-z0-9-]+' : part === '<region>' ? REGION : escape(part)))
    .join('');
  return new RegExp(`^${source}$`, 'i');
}

function topicPattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.trim().split('*').map(escape).join('.*')}$`);
}

/** Kept until the certificate expires, at most a day (SNS rotates its certificates). */
function cacheMs(certificate: X509Certificate): number {
  return Math.max(0, Math.min(Date.parse(certificate.validTo) - Date.now(), 24 * 3_600_000));
}
