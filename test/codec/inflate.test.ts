// Transport decompression: frames to messages for zlib-stream, zstd-stream and plain JSON.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createInflater, InflatedSizeError } from '../../src/codec/inflate.js';
import { ZlibContext } from '../../src/codec/zlib-context.js';
import { loadZstd } from '../../src/codec/zstd-binding.js';

const messages = ['{"op":10,"d":{"heartbeat_interval":41250}}', `{"t":"READY","s":1,"op":0,"d":{"x":"${'y'.repeat(2000)}"}}`, '{"op":11}'];

describe('zlib-stream', () => {
  it('joins a message split across frames, wherever the split falls, even inside the suffix', () => {
    for (let cut = 1; cut <= 6; cut++) {
      const deflate = new ZlibContext('deflate');
      const inflater = createInflater('zlib-stream', 1 << 20);
      const out: string[] = [];
      for (const message of messages) {
        const compressed = deflate.process(Buffer.from(message));
        // the last `cut` bytes travel alone: for cut < 4 the suffix itself is split
        const head = compressed.subarray(0, compressed.length - cut);
        const tail = compressed.subarray(compressed.length - cut);
        for (const frame of [head.subarray(0, 3), head.subarray(3), tail]) {
          const text = inflater.push(frame);
          if (text !== null) out.push(text);
        }
      }
      expect(out, `cut ${cut}`).toEqual(messages);
      expect(inflater.metrics.messages).toBe(3);
    }
  });

  it('skips a message over the cap, whole or while its frames still arrive, and decodes the next', () => {
    const deflate = new ZlibContext('deflate');
    const inflater = createInflater('zlib-stream', 10_000);
    const big = deflate.process(Buffer.from(`{"t":"GUILD_CREATE","s":3,"op":0,"d":"${'z'.repeat(200_000)}"}`));
    expect(() => inflater.push(big)).toThrow(expect.objectContaining({ name: 'InflatedSizeError', size: 200_040 }));
    expect(inflater.push(deflate.process(Buffer.from('{"op":11}')))).toBe('{"op":11}');
    // Incompressible, so its compressed frames alone pass the cap before the message ends.
    const noise = randomBytes(30_000).toString('base64');
    const split = deflate.process(Buffer.from(`{"t":"GUILD_CREATE","s":4,"op":0,"d":"${noise}"}`));
    expect(split.length).toBeGreaterThan(10_000);
    const frames = [split.subarray(0, 6_000), split.subarray(6_000, 12_000), split.subarray(12_000, split.length - 2), split.subarray(split.length - 2)];
    for (const frame of frames.slice(0, -1)) expect(inflater.push(frame)).toBeNull();
    let thrown: unknown;
    try {
      inflater.push(frames.at(-1) as Buffer);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InflatedSizeError);
    expect(thrown).toMatchObject({ head: expect.stringContaining('"s":4') });
    expect(inflater.push(deflate.process(Buffer.from('{"op":11,"d":1}')))).toBe('{"op":11,"d":1}');
  });
});

describe('metrics', () => {
  it('count inflated bytes, not characters', () => {
    const message = '{"op":0,"t":"MESSAGE_CREATE","s":1,"d":{"content":"größer € 🎉"}}';
    const bytes = Buffer.byteLength(message);
    expect(bytes).toBeGreaterThan(message.length);
    const zlib = createInflater('zlib-stream', 1 << 20);
    const compressed = new ZlibContext('deflate').process(Buffer.from(message));
    expect(zlib.push(compressed)).toBe(message);
    expect(zlib.metrics).toEqual({ bytesIn: compressed.length, bytesOut: bytes, messages: 1 });
    const plain = createInflater(null, 1 << 20);
    plain.push(Buffer.from(message));
    expect(plain.metrics).toEqual({ bytesIn: bytes, bytesOut: bytes, messages: 1 });
  });
});

describe('zstd-stream', () => {
  it('decodes one message per frame from one flushed stream', () => {
    const zstd = loadZstd();
    if (zstd === null) throw new Error('zstd-napi must be installed for the test suite');
    const cctx = new zstd.CCtx();
    const scratch = Buffer.alloc(1 << 16);
    const inflater = createInflater('zstd-stream', 1 << 20);
    for (const message of messages) {
      const [, produced] = cctx.compressStream2(scratch, Buffer.from(message), zstd.EndDirective.flush);
      expect(inflater.push(Buffer.from(scratch.subarray(0, produced)))).toBe(message);
    }
  });
});

describe('no compression', () => {
  it('passes text through and caps its size', () => {
    const inflater = createInflater(null, 20);
    expect(inflater.push(Buffer.from('{"op":11}'))).toBe('{"op":11}');
    expect(() => inflater.push(Buffer.alloc(21))).toThrow(InflatedSizeError);
    expect(inflater.push(Buffer.from('{"op":1}'))).toBe('{"op":1}');
  });
});
