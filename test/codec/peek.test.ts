// Peeking the envelope must agree with JSON.parse whenever it answers, and step aside when unsure.
import { describe, expect, it } from 'vitest';
import { peekPayload } from '../../src/codec/peek.js';
import { Random } from '../../src/testing/random.js';
import { World } from '../../src/testing/world.js';

describe('peekPayload', () => {
  it("reads Discord's key order, ignoring what is inside d", () => {
    expect(peekPayload('{"t":"MESSAGE_CREATE","s":42,"op":0,"d":{"op":7,"s":1,"t":"X"}}')).toEqual({ op: 0, s: 42, t: 'MESSAGE_CREATE' });
    expect(peekPayload('{"t":null,"s":null,"op":11,"d":null}')).toEqual({ op: 11, s: null, t: null });
    expect(peekPayload(' {\n "op" : 0 , "s":\t9007199254740991, "t" : "READY",\r\n"d":{}}')).toEqual({ op: 0, s: 9007199254740991, t: 'READY' });
  });

  it('reads numbers as JSON.parse does, long and negative ones included', () => {
    for (const s of ['0', '7', '-3', '-0', '123456789012345', '1234567890123456789', '-98765432109876543210']) {
      const text = `{"t":null,"s":${s},"op":-1,"d":null}`;
      const parsed = JSON.parse(text) as { s: number };
      expect(peekPayload(text), text).toEqual({ op: -1, s: parsed.s, t: null });
    }
  });

  it('returns null when unsure, so the caller parses in full', () => {
    for (const text of [
      '{"d":{},"t":"MESSAGE_CREATE","s":1,"op":0}', // d first
      '{"op":0,"d":{}}', // s and t missing
      '{"t":"A\\"B","s":1,"op":0,"d":{}}', // escape in t
      '{"t":"X","s":1.5,"op":0,"d":{}}', // fractional sequence
      '{"t":"X","s":"1","op":0,"d":{}}', // s a string
      '{"t":"X","s":1,"op":0,"x":1,"d":{}}', // unknown key before d
      '{"t":"X","s":1,"opx":0,"d":{}}', // a key that only starts like op
      '{"t":"X","s":1,"o":0,"d":{}}', // a key that is a prefix of op
      '{"t":"X","s":-,"op":0,"d":{}}', // a minus sign without digits
      '{"t":"X","s":1,"op":0', // truncated
      '[1,2,3]',
      '',
      'not json',
    ]) {
      expect(peekPayload(text), text).toBeNull();
    }
  });

  it('agrees with JSON.parse on realistic traffic', () => {
    const world = new World({ seed: 3, guilds: 20 });
    const rng = new Random(4);
    for (let s = 1; s <= 2_000; s++) {
      const event = world.nextDispatch(0, 1, rng, () => true, true);
      if (event === null) continue;
      const text = `{"t":${JSON.stringify(event.t)},"s":${s},"op":0,"d":${JSON.stringify(event.d)}}`;
      const parsed = JSON.parse(text) as { op: number; s: number; t: string };
      expect(peekPayload(text)).toEqual({ op: parsed.op, s: parsed.s, t: parsed.t });
    }
  });
});
