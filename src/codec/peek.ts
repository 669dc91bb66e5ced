/**
 * Reads `op`, `s` and `t` off the front of a gateway payload's JSON text without parsing
 * the rest, so a dispatch nobody wants is never `JSON.parse`d and its sequence still counts.
 */

/** The envelope fields of a payload. */
export interface PayloadHead {
  readonly op: number;
  readonly s: number | null;
  readonly t: string | null;
}

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = 0x7b;
const BACKSLASH = 0x5c;
const ZERO = 0x30;
const NINE = 0x39;
const MINUS = 0x2d;
const LOWER_D = 0x64;
const LOWER_O = 0x6f;
const LOWER_P = 0x70;
const LOWER_S = 0x73;
const LOWER_T = 0x74;

function skipSpace(text: string, at: number): number {
  let i = at;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i += 1;
  }
}

/** Which envelope key starts at `at` (just after its opening quote), or null for any other. */
function keyAt(text: string, at: number): 'op' | 's' | 't' | 'd' | null {
  const first = text.charCodeAt(at);
  if (text.charCodeAt(at + 1) === QUOTE) {
    if (first === LOWER_S) return 's';
    if (first === LOWER_T) return 't';
    if (first === LOWER_D) return 'd';
    return null;
  }
  return first === LOWER_O && text.charCodeAt(at + 1) === LOWER_P && text.charCodeAt(at + 2) === QUOTE ? 'op' : null;
}

/** Digits beyond this many may not add up exactly in a double: `Number` reads those. */
const EXACT_DIGITS = 15;

/**
 * The payload's `op`, `s` and `t`, when they all come before `d` (Discord sends
 * `{"t":…,"s":…,"op":…,"d":…}`). Returns null whenever it cannot be sure — another key
 * order, an escape in a string, a malformed value — and the caller parses in full. Keys
 * and numbers are read off the character codes: this runs for every message received.
 *
 * @example
 * peekPayload('{"t":"MESSAGE_CREATE","s":42,"op":0,"d":{"op":7}}'); // { op: 0, s: 42, t: 'MESSAGE_CREATE' }
 */
export function peekPayload(text: string): PayloadHead | null {
  let op: number | undefined;
  let s: number | null | undefined;
  let t: string | null | undefined;
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN) return null;
  i += 1;
  for (;;) {
    i = skipSpace(text, i);
    if (text.charCodeAt(i) !== QUOTE) return null;
    const key = keyAt(text, i + 1);
    if (key === null) return null;
    i = skipSpace(text, i + key.length + 2);
    if (text.charCodeAt(i) !== COLON) return null;
    i = skipSpace(text, i + 1);
    if (key === 'd') break;
    let value: number | string | null;
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = text.indexOf('"', i + 1);
      if (end < 0) return null;
      value = text.slice(i + 1, end);
      if (value.includes('\\') || text.charCodeAt(end - 1) === BACKSLASH) return null;
      i = end + 1;
    } else if ((c >= ZERO && c <= NINE) || c === MINUS) {
      const negative = c === MINUS;
      const firstDigit = negative ? i + 1 : i;
      let magnitude = 0;
      let end = firstDigit;
      for (let d = text.charCodeAt(end); d >= ZERO && d <= NINE; d = text.charCodeAt(++end)) magnitude = magnitude * 10 + (d - ZERO);
      const next = text.charCodeAt(end);
      if (next === 0x2e || next === 0x65 || next === 0x45) return null; // a fraction or exponent: not an op or sequence
      if (end === firstDigit) return null;
      value = end - firstDigit > EXACT_DIGITS ? Number(text.slice(i, end)) : negative ? -magnitude : magnitude;
      i = end;
    } else if (text.startsWith('null', i)) {
      value = null;
      i += 4;
    } else return null;
    if (key === 'op' && typeof value === 'number') op = value;
    else if (key === 's' && (value === null || typeof value === 'number')) s = value;
    else if (key === 't' && (value === null || typeof value === 'string')) t = value;
    else return null;
    i = skipSpace(text, i);
    if (text.charCodeAt(i) !== COMMA) return null;
    i += 1;
  }
  if (op === undefined || s === undefined || t === undefined) return null;
  return { op, s, t };
}
