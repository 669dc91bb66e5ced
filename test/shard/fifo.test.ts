// The shard's item buffer: strict arrival order through wrap-around and growth.
import { describe, expect, it } from 'vitest';
import { Fifo } from '../../src/shard/fifo.js';

describe('Fifo', () => {
  it('is empty at first', () => {
    const fifo = new Fifo<number>();
    expect(fifo.length).toBe(0);
    expect(fifo.shift()).toBeUndefined();
  });

  it('hands items out in arrival order and counts them', () => {
    const fifo = new Fifo<string>();
    fifo.push('a');
    fifo.push('b');
    expect(fifo.length).toBe(2);
    expect(fifo.shift()).toBe('a');
    expect(fifo.length).toBe(1);
    expect(fifo.shift()).toBe('b');
    expect(fifo.shift()).toBeUndefined();
    expect(fifo.length).toBe(0);
  });

  it('keeps the order when it wraps around and when it grows while wrapped', () => {
    const fifo = new Fifo<number>();
    const expected: number[] = [];
    let next = 0;
    // Uneven pushes and shifts move the head around the ring and make it grow mid-wrap.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < (round % 7) * 5 + 3; i++) {
        fifo.push(next);
        expected.push(next++);
      }
      for (let i = 0; i < (round % 5) * 6 + 1; i++) {
        const item = fifo.shift();
        expect(item).toBe(expected.shift());
      }
      expect(fifo.length).toBe(expected.length);
    }
    while (expected.length > 0) expect(fifo.shift()).toBe(expected.shift());
    expect(fifo.shift()).toBeUndefined();
  });

  it('goes on in order after a burst drained it back to its smallest ring', () => {
    const fifo = new Fifo<number>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 1000; i++) fifo.push(i);
      for (let i = 0; i < 1000; i++) expect(fifo.shift()).toBe(i);
      expect(fifo.length).toBe(0);
      fifo.push(-1);
      fifo.push(-2);
      expect([fifo.shift(), fifo.shift(), fifo.shift()]).toEqual([-1, -2, undefined]);
    }
  });

  it('holds falsy items as items', () => {
    const fifo = new Fifo<number | null | string>();
    fifo.push(0);
    fifo.push(null);
    fifo.push('');
    expect([fifo.shift(), fifo.shift(), fifo.shift(), fifo.length]).toEqual([0, null, '', 0]);
  });

  it('some and retain see the items in order, across the ring\'s wrap', () => {
    const fifo = new Fifo<number>();
    for (let i = 0; i < 12; i++) fifo.push(i);
    for (let i = 0; i < 10; i++) fifo.shift();
    for (let i = 12; i < 30; i++) fifo.push(i); // wraps, then grows
    expect(fifo.some((n) => n === 29)).toBe(true);
    expect(fifo.some((n) => n === 5)).toBe(false);
    fifo.retain((n) => n % 3 === 0);
    const left: number[] = [];
    for (let n = fifo.shift(); n !== undefined; n = fifo.shift()) left.push(n);
    expect(left).toEqual([12, 15, 18, 21, 24, 27]);
  });
});
