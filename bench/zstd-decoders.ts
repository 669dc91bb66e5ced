/**
 * Which zstd decoder should gloaming use for zstd-stream? Decodes the same realistic
 * FakeGateway traffic — compressed as Discord does, one stream flushed per message — with
 * each candidate, message by message, and prints CPU µs per message and ratios.
 *
 * Run: npm run bench:zstd
 */
import { createRequire } from 'node:module';
import { Decompress } from 'fzstd';
import type * as ZstdBindingModule from 'zstd-napi/binding.js';
import { dispatchTexts } from './traffic.js';

const binding = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBindingModule;
const MESSAGES = 20_000;
const RUNS = 5;

/** Realistic traffic of one shard, as the JSON texts a client would receive. */
const traffic = (): Buffer[] => dispatchTexts(MESSAGES).map((text) => Buffer.from(text));

/** Compresses on one stream with a flush after each message, as zstd-stream does. */
function compress(messages: Buffer[]): Buffer[] {
  const cctx = new binding.CCtx();
  cctx.setParameter(binding.CParameter.compressionLevel, 3);
  const scratch = Buffer.alloc(1 << 20);
  return messages.map((message) => {
    const parts: Buffer[] = [];
    let input = message;
    for (;;) {
      const [remaining, produced, consumed] = cctx.compressStream2(scratch, input, binding.EndDirective.flush);
      parts.push(Buffer.from(scratch.subarray(0, produced)));
      input = input.subarray(consumed);
      if (remaining === 0 && input.length === 0) return Buffer.concat(parts);
    }
  });
}

type Decoder = (frame: Buffer) => number;

const candidates: Record<string, () => Decoder> = {
  'zstd-napi (native, DCtx.decompressStream)': () => {
    const dctx = new binding.DCtx();
    const out = Buffer.alloc(1 << 20);
    return (frame) => {
      let total = 0;
      let input = frame;
      for (;;) {
        const [, produced, consumed] = dctx.decompressStream(out, input);
        total += produced;
        input = input.subarray(consumed);
        if (input.length === 0 && produced < out.length) return total;
      }
    };
  },
  'fzstd (pure JS, streaming Decompress)': () => {
    let total = 0;
    const stream = new Decompress((chunk) => (total += chunk.length));
    return (frame) => {
      total = 0;
      stream.push(frame);
      return total;
    };
  },
};

function measure(frames: Buffer[], expected: number[], make: () => Decoder): number {
  const decode = make();
  const start = process.cpuUsage();
  for (let i = 0; i < frames.length; i++) {
    if (decode(frames[i] as Buffer) !== expected[i]) throw new Error(`message ${i} decoded to the wrong length`);
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / frames.length;
}

const messages = traffic();
const frames = compress(messages);
const lengths = messages.map((m) => m.length);
const bytes = lengths.reduce((a, b) => a + b, 0);
const wire = frames.reduce((a, b) => a + b.length, 0);
console.log(`${MESSAGES} messages, mean ${(bytes / MESSAGES).toFixed(0)} B JSON, ${(wire / MESSAGES).toFixed(0)} B compressed (ratio ${(bytes / wire).toFixed(2)})`);
const results: [string, number][] = [];
for (const [name, make] of Object.entries(candidates)) {
  const samples = Array.from({ length: RUNS }, () => measure(frames, lengths, make)).sort((a, b) => a - b);
  results.push([name, samples[Math.floor(RUNS / 2)] as number]);
}
const best = Math.min(...results.map(([, us]) => us));
console.log('| decoder | CPU µs per message (median of 5) | × fastest |');
console.log('|---|---|---|');
for (const [name, us] of results) console.log(`| ${name} | ${us.toFixed(2)} | ${(us / best).toFixed(2)} |`);
