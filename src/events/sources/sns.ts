// Amazon SNS HTTP(S) deliveries (sns/latest/dg/sns-message-and-json-formats): a JSON envelope whose `Type` is
// `Notification` (its `Message` is the S3 event, as text), `SubscriptionConfirmation` or `UnsubscribeConfirmation`,
// signed by SNS. This file checks the envelope and the signature against a certificate; fetching that
// certificate (from an allow-listed host only) and answering confirmations is the ingest's job (src/ingest/sns.ts).
import { createVerify, X509Certificate } from 'node:crypto';
import { EventValidationError, expectObject, requireString } from '../parse';
import { optionalString } from './fields';

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

/** Whether a body looks like an SNS envelope (then it must be a valid, signed one). */
export function isSnsMessage(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && 'Type' in body && 'TopicArn' in body;
}

export function parseSnsMessage(body: unknown): SnsMessage {
  const envelope = expectObject(body, 'body');
  const type = requireString(envelope, 'Type', '');
  if (!(SNS_MESSAGE_TYPES as readonly string[]).includes(type)) {
    throw new EventValidationError('Type', `expected one of ${SNS_MESSAGE_TYPES.join(', ')}, got "${type}"`);
  }
  const version = requireString(envelope, 'SignatureVersion', '');
  if (version !== '1' && version !== '2') throw new EventValidationError('SignatureVersion', `expected "1" or "2", got "${version}"`);
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
    for (const name of ['SubscribeURL', 'Token'] as const) if (!message[name]) throw new EventValidationError(name, 'required');
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
