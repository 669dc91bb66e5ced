// A forwarded dispatch's `d` must be exactly what JSON.parse would find, or null when unsure.
import { describe, expect, it } from 'vitest';
import { dispatchData } from '../../src/codec/dispatch-data.js';
import { Random } from '../../src/testing/random.js';
import { World } from '../../src/testing/world.js';

describe('dispatchData', () => {
  it("finds d in Discord's key order, whatever its strings hold", () => {
    for (const d of [
      '{}',
      '[]',
      '{"content":"}"}',
      '{"content":"{{[[","x":[1,{"y":"]"}]}',
      '{"content":"say \\"}\\" and \\\\","n":1}',
      '{"content":"ends in a backslash \\\\"}',
      '{"emoji":"🦀 ünïcödé \\u00e9"}',
      '{"d":{"d":"d"},"op":7}',
    ]) {
      const text = `{"t":"MESSAGE_CREATE","s":1,"op":0,"d":${d}}`;
      expect(dispatchData(text), d).toBe(d);
      expect(JSON.parse(dispatchData(text) as string)).toEqual((JSON.parse(text) as { d: unknown }).d);
    }
    expect(dispatchData(' {\n "op" : 0 , "s":\t9, "t" : "d",\r\n"d" :\n {"a":1} \n} \n')).toBe('{"a":1}');
  });

  it('returns null when d is not the last key, not a container, or cut short', () => {
    for (const text of [
      '{"t":"X","s":1,"op":0,"d":{"a":1},"extra":2}', // a key after d
      '{"t":"X","s":1,"op":0,"d":{"a":1}} trailing',
      '{"t":"X","s":1,"op":0,"d":null}', // scalar d
      '{"t":"X","s":1,"op":0,"d":"text"}',
      '{"t":"X","s":1,"op":0,"d":{"a":"}', // string never closes
      '{"t":"X","s":1,"op":0,"d":{"a":{}}', // object never closes
      '{"t":"X","s":1,"op":0}', // no d
      '',
    ]) {
      expect(dispatchData(text), text).toBeNull();
    }
  });

  it('agrees with JSON.parse on realistic traffic', () => {
    const world = new World({ seed: 5, guilds: 20 });
    const rng = new Random(6);
    let checked = 0;
    for (let s = 1; s <= 2_000; s++) {
      const event = world.nextDispatch(0, 1, rng, () => true, true);
      if (event === null) continue;
      const text = `{"t":${JSON.stringify(event.t)},"s":${s},"op":0,"d":${JSON.stringify(event.d)}}`;
      expect(JSON.parse(dispatchData(text) as string)).toEqual(event.d);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(1_000);
  });
});
