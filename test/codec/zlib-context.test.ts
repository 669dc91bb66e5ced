// The synchronous zlib context against node:zlib's own one-shot functions.
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InflatedSizeError, ZlibContext } from '../../src/codec/zlib-context.js';

describe('ZlibContext', () => {
  it('round-trips many messages on one context, each flushed with 00 00 ff ff', () => {
    const deflate = new ZlibContext('deflate');
    const inflate = new ZlibContext('inflate');
    const messages = ['{"op":11}', 'x'.repeat(300_000), JSON.stringify({ a: Array.from({ length: 5000 }, (_, i) => i) }), '{"op":11}'];
    const sizes = messages.map((message) => {
      const compressed = deflate.process(Buffer.from(message));
      expect([...compressed.subarray(-4)]).toEqual([0, 0, 0xff, 0xff]);
      expect(inflate.process(compressed).toString()).toBe(message);
      return compressed.length;
    });
    // the shared context makes a repeated message cheaper the second time
    expect(sizes[3]).toBeLessThan(sizes[0]!);
  });

  it('produces a stream node:zlib inflates', () => {
    const deflate = new ZlibContext('deflate');
    const stream = Buffer.concat(['a', 'b'.repeat(70_000), 'c'].map((m) => deflate.process(Buffer.from(m))));
    expect(zlib.inflateSync(stream, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString()).toBe(`a${'b'.repeat(70_000)}c`);
  });

  it('decodes UTF-8 that spans several scratch buffers, and small output in place', () => {
    const deflate = new ZlibContext('deflate');
    const inflate = new ZlibContext('inflate');
    const large = `x${'€'.repeat(200_000)}`; // 600 KB, multibyte characters cut at buffer edges
    expect(inflate.processToString(deflate.process(Buffer.from(large)))).toBe(large);
    expect(inflate.processToString(deflate.process(Buffer.from('{"op":11,"d":"ü"}')))).toBe('{"op":11,"d":"ü"}');
  });

  it('throws zlib errors for corrupt input', () => {
    const inflate = new ZlibContext('inflate');
    expect(() => inflate.process(Buffer.from([1, 2, 3, 4, 0, 0, 0xff, 0xff]))).toThrow(expect.objectContaining({ code: 'Z_DATA_ERROR' }));
  });

  it('skips output above the cap without gathering it, and stays in step for the next message', () => {
    const deflate = new ZlibContext('deflate');
    const inflate = new ZlibContext('inflate');
    const huge = `{"t":"GUILD_CREATE","s":7,"op":0,"d":"${'x'.repeat(10_000_000)}"}`;
    let thrown: unknown;
    try {
      inflate.processToString(deflate.process(Buffer.from(huge)), 100_000);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InflatedSizeError);
    expect(thrown).toMatchObject({ size: huge.length, head: expect.stringMatching(/^\{"t":"GUILD_CREATE","s":7,"op":0,"d":"x+$/) });
    expect(inflate.processToString(deflate.process(Buffer.from('{"op":11}')))).toBe('{"op":11}');
  });

  it('skip() inflates and drops, reporting the size and the start of the text', () => {
    const deflate = new ZlibContext('deflate');
    const inflate = new ZlibContext('inflate');
    const compressed = deflate.process(Buffer.from(`{"op":0,"d":"${'y'.repeat(600_000)}"}`));
    const first = inflate.skip(compressed.subarray(0, 100));
    const rest = inflate.skip(compressed.subarray(100));
    expect(first.head.startsWith('{"op":0,"d":"yyy')).toBe(true);
    expect(first.size + rest.size).toBe(600_000 + 15);
    expect(inflate.processToString(deflate.process(Buffer.from('{"op":11}')))).toBe('{"op":11}');
  });
});
