/**
 * Finds the text of a payload's `d` without parsing it, so a service that forwards a dispatch
 * (to Redis, to another process) passes on the bytes it received instead of parsing them and
 * writing them out again.
 */

const QUOTE = 0x22;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The index of the quote that closes the string opened at `at`, or -1. */
function stringEnd(text: string, at: number): number {
  for (let i = text.indexOf('"', at + 1); i !== -1; i = text.indexOf('"', i + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(i - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return i;
  }
  return -1;
}

/** Just past the object or array that opens at `at` (strings skipped whole), or -1 when it never closes. */
function containerEnd(text: string, at: number): number {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(text, i);
      if (i === -1) return -1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth += 1;
    } else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) {
      return i + 1;
    }
  }
  return -1;
}

/**
 * The JSON text of `d` in a payload whose envelope `peekPayload` read (`t`, `s`, `op`
 * before `d`), when `d` is an object or array and the last key — as Discord sends every
 * dispatch. Returns null otherwise (a scalar `d`, a key after it, text cut short), and the
 * caller parses in full. It delimits `d` by its brackets and does not validate it: text that
 * is not JSON inside the brackets comes out as it came in.
 *
 * @example
 * dispatchData('{"t":"MESSAGE_CREATE","s":42,"op":0,"d":{"content":"}"}}'); // '{"content":"}"}'
 */
export function dispatchData(text: string): string | null {
  // The envelope before d holds no string with a quote in it (peekPayload refuses escapes),
  // so the first `"d"` followed by a colon is the key.
  let key = text.indexOf('"d"');
  let at = -1;
  while (key !== -1) {
    at = key + 3;
    while (isSpace(text.charCodeAt(at))) at += 1;
    if (text.charCodeAt(at) === COLON) break;
    key = text.indexOf('"d"', key + 1);
  }
  if (key === -1) return null;
  at += 1;
  while (isSpace(text.charCodeAt(at))) at += 1;
  const first = text.charCodeAt(at);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) return null;
  const end = containerEnd(text, at);
  if (end === -1) return null;
  let rest = end;
  while (isSpace(text.charCodeAt(rest))) rest += 1;
  if (text.charCodeAt(rest) !== CLOSE_BRACE) return null;
  for (rest += 1; rest < text.length; rest++) if (!isSpace(text.charCodeAt(rest))) return null;
  return text.slice(at, end);
}
