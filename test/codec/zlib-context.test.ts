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

  it('refuses output above the cap before gathering it all', () => {
    const deflate = new ZlibContext('deflate');
    const inflate = new ZlibContext('inflate');
    expect(() => inflate.process(deflate.process(Buffer.alloc(10_000_000)), 100_000)).toThrow(InflatedSizeError);
    expect(() => inflate.process(Buffer.from([0]))).toThrow(/closed/);
  });
});
