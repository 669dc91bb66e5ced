/**
 * What does it cost to know a dispatch is whole JSON before its sequence counts? Runs the
 * candidate checks over the same realistic FakeGateway traffic (flat strings, as an
 * inflater returns them) and prints ns per message: the envelope peek every message pays
 * anyway, a full `JSON.parse`, a string-aware bracket scan (sound only against truncation),
 * and a look at the last character (not sound). The shard checks nothing on arrival: a
 * wanted dispatch is parsed when it is taken, and one found broken is received again.
 *
 * Run: npm run bench:whole-json
 */
import { peekPayload } from '../src/codec/peek.js';
import { dispatchTexts } from './traffic.js';

const MESSAGES = 50_000;
const ROUNDS = 5;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether the outermost object or array closes exactly at the end (strings and escapes skipped). */
function bracketsClose(text: string): boolean {
  let depth = 0;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if ((c === 0x7d || c === 0x5d) && --depth === 0) break;
  }
  return depth === 0 && text.trimEnd().length === i + 1;
}

const endsInBrace = (text: string): boolean => text.trimEnd().endsWith('}');

// Through a Buffer, so the strings are flat as an inflater's are.
const texts = dispatchTexts(MESSAGES).map((text) => Buffer.from(text).toString('utf8'));
const chars = texts.reduce((sum, text) => sum + text.length, 0) / texts.length;
const checks: [string, (text: string) => unknown][] = [
  ['peekPayload (paid by every message)', peekPayload],
  ['JSON.parse', (text) => JSON.parse(text) as unknown],
  ['bracket scan', bracketsClose],
  ['last character', endsInBrace],
];
const best = new Map<string, number>();
let kept = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, check] of checks) {
    const start = process.hrtime.bigint();
    for (const text of texts) if (check(text) !== false) kept++;
    const ns = Number(process.hrtime.bigint() - start) / texts.length;
    if (round > 0) best.set(name, Math.min(best.get(name) ?? Infinity, ns));
  }
}
console.log(`${texts.length} dispatches, ${chars.toFixed(0)} characters on average; best of ${ROUNDS - 1} rounds after a warm-up (${kept} kept)`);
const parse = best.get('JSON.parse') as number;
for (const [name, ns] of best) console.log(`${name.padEnd(38)} ${ns.toFixed(0).padStart(6)} ns/message  ${(ns / parse).toFixed(2)}× JSON.parse`);
