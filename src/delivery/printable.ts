// Text a person reads, made safe to show: object keys and bucket names are written by whoever uploaded the object
// (or forged the event), and shown raw a newline fakes a table row and an ESC sequence rewrites the terminal
// (colours, cursor, title; some terminals worse). So `deliveries list|show` and the batch workflow's summary and
// details in the Web UI show control characters (C0, DEL, C1) and the bidirectional marks that reorder text as
// escapes: `\n`, `\x1b`, `\u202e`. A backslash is shown as it is. The memo and search attributes keep the raw
// text (lookups compare it). Sandbox-safe: no imports.

/* eslint-disable no-control-regex -- matching control characters is the point */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** What JSON.stringify leaves raw (it escapes C0 itself): DEL, C1, the bidirectional marks, the line separators. */
const JSON_UNPRINTABLE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/* eslint-enable no-control-regex */
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every control character and bidirectional mark written as an escape. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => NAMED[char] ?? escapeOf(char));
}

/** JSON text (JSON.stringify's) with what it leaves raw escaped as `\uXXXX`: still the same JSON value. */
export function printableJson(json: string): string {
  return json.replace(JSON_UNPRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function escapeOf(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}
