// CommandRatelimiter: twilight's heartbeat reserve, the sliding 60 s window, and FIFO/abortable waiting.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandRatelimiter, commandsPerPeriod } from '../../src/shard/ratelimiter.js';

/** A ratelimiter on a hand-driven clock; `advance` moves that clock and the fake timers together. */
function setup(heartbeatIntervalMs: number) {
  let time = 1_000;
  const limiter = new CommandRatelimiter(heartbeatIntervalMs, () => time);
  return {
    limiter,
    /** Moves only the injected clock, leaving timers unfired. */
    tick: (ms: number): void => {
      time += ms;
    },
    advance: async (ms: number): Promise<void> => {
      time += ms;
      await vi.advanceTimersByTimeAsync(ms);
    },
  };
}

function takeAll(limiter: CommandRatelimiter, count = limiter.available()): void {
  for (let i = 0; i < count; i++) expect(limiter.tryAcquire()).toBe(true);
}

describe('commandsPerPeriod', () => {
  it('reserves ceil(60 s / interval) heartbeats plus one spare', () => {
    expect(commandsPerPeriod(41_250)).toBe(117); // 2 beats + 1
    expect(commandsPerPeriod(45_000)).toBe(117);
    expect(commandsPerPeriod(42_500)).toBe(117);
    expect(commandsPerPeriod(30_000)).toBe(117); // exactly 2 beats + 1
    expect(commandsPerPeriod(29_999)).toBe(116); // 3 beats + 1
    expect(commandsPerPeriod(20_000)).toBe(116);
    expect(commandsPerPeriod(15_000)).toBe(115);
    expect(commandsPerPeriod(60_000)).toBe(118); // 1 beat + 1
    expect(commandsPerPeriod(60_001)).toBe(118);
    expect(commandsPerPeriod(3_600_000)).toBe(118);
  });

  it('puts heartbeats first for short intervals, keeping at least one command', () => {
    expect(commandsPerPeriod(6_000)).toBe(109); // 10 beats + 1 spare
    expect(commandsPerPeriod(1_000)).toBe(59);
    expect(commandsPerPeriod(1)).toBe(1);
    expect(commandsPerPeriod(0.001)).toBe(1);
  });

  it('refuses a non-positive or non-finite interval', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => commandsPerPeriod(bad)).toThrow(RangeError);
      expect(() => new CommandRatelimiter(bad)).toThrow(/heartbeatIntervalMs/);
    }
  });
});

describe('CommandRatelimiter arithmetic (fake clock)', () => {
  it('exposes the period and limit', () => {
    expect(CommandRatelimiter.PERIOD_MS).toBe(60_000);
    expect(CommandRatelimiter.LIMIT).toBe(120);
  });

  it('starts full and counts down', () => {
    const { limiter } = setup(41_250);
    expect(limiter.max()).toBe(117);
    expect(limiter.available()).toBe(117);
    expect(limiter.nextAvailableIn()).toBe(0);
    takeAll(limiter, 17);
    expect(limiter.available()).toBe(100);
    expect(limiter.nextAvailableIn()).toBe(0);
  });

  it('refuses when exhausted and frees each permit exactly 60 s after it was taken', () => {
    const { limiter, tick } = setup(41_250);
    takeAll(limiter);
    expect(limiter.available()).toBe(0);
    expect(limiter.tryAcquire()).toBe(false);
    expect(limiter.nextAvailableIn()).toBe(60_000);
    tick(59_999);
    expect(limiter.available()).toBe(0);
    expect(limiter.nextAvailableIn()).toBe(1);
    expect(limiter.tryAcquire()).toBe(false);
    tick(1);
    expect(limiter.available()).toBe(117);
    expect(limiter.nextAvailableIn()).toBe(0);
  });

  it('slides: permits taken at different times free at different times', () => {
    const { limiter, tick } = setup(60_000); // 118
    takeAll(limiter, 50);
    tick(30_000);
    takeAll(limiter, 68);
    expect(limiter.available()).toBe(0);
    expect(limiter.nextAvailableIn()).toBe(30_000);
    tick(30_000); // the first 50 are 60 s old
    expect(limiter.available()).toBe(50);
    takeAll(limiter, 50);
    expect(limiter.nextAvailableIn()).toBe(30_000);
    tick(29_999);
    expect(limiter.available()).toBe(0);
    tick(1); // the 68 from t=30 s
    expect(limiter.available()).toBe(68);
    tick(30_000);
    expect(limiter.available()).toBe(118);
  });

  it('a failed tryAcquire takes nothing', () => {
    const { limiter, tick } = setup(41_250);
    takeAll(limiter);
    for (let i = 0; i < 10; i++) expect(limiter.tryAcquire()).toBe(false);
    tick(60_000);
    expect(limiter.available()).toBe(117);
  });
});

describe('CommandRatelimiter.acquire (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves at once while permits are available', async () => {
    const { limiter } = setup(41_250);
    await limiter.acquire();
    await limiter.acquire(new AbortController().signal);
    expect(limiter.available()).toBe(115);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits for the oldest permit to free, then serves waiters first come first served', async () => {
    const { limiter, tick, advance } = setup(60_000); // 118
    takeAll(limiter, 1);
    tick(1_000);
    takeAll(limiter, 117);

    const order: string[] = [];
    const a = limiter.acquire().then(() => order.push('a'));
    const b = limiter.acquire().then(() => order.push('b'));
    const c = limiter.acquire().then(() => order.push('c'));
    expect(vi.getTimerCount()).toBe(1); // one timer, however many wait

    await advance(58_999);
    expect(order).toEqual([]);
    await advance(1); // t = 60 s: only the first permit frees
    expect(order).toEqual(['a']);
    await advance(999);
    expect(order).toEqual(['a']);
    await advance(1); // t = 61 s: the other 117 free
    await Promise.all([a, b, c]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(limiter.available()).toBe(118 - 3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps later callers and tryAcquire behind earlier waiters', async () => {
    const { limiter, tick } = setup(60_000); // 118
    takeAll(limiter, 1);
    tick(1_000);
    takeAll(limiter, 117);
    const order: string[] = [];
    const first = limiter.acquire().then(() => order.push('first'));
    tick(59_000); // one permit frees, but the timer has not fired yet
    const second = limiter.acquire().then(() => order.push('second'));
    expect(limiter.tryAcquire()).toBe(false); // the freed permit went to `first`
    await first;
    expect(order).toEqual(['first']);
    tick(1_000); // the next permit frees; the timer armed for the first one now serves it
    await vi.runOnlyPendingTimersAsync();
    await second;
    expect(order).toEqual(['first', 'second']);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.available()).toBe(118 - 3);
  });

  it('rejects with the signal reason on abort and takes nothing', async () => {
    const { limiter, advance } = setup(41_250);
    takeAll(limiter);
    const controller = new AbortController();
    const reason = new Error('shard closed');
    const pending = limiter.acquire(controller.signal);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0); // nobody waits, nothing keeps the process alive
    await advance(60_000);
    expect(limiter.available()).toBe(117);
  });

  it('rejects at once for an already aborted signal, even with permits free', async () => {
    const { limiter } = setup(41_250);
    const reason = new Error('too late');
    await expect(limiter.acquire(AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(limiter.available()).toBe(117);
  });

  it('an aborted waiter gives its turn to the next one', async () => {
    const { limiter, tick, advance } = setup(60_000);
    takeAll(limiter, 1);
    tick(1_000);
    takeAll(limiter, 117);
    const controller = new AbortController();
    const order: string[] = [];
    const aborted = limiter.acquire(controller.signal).then(
      () => order.push('aborted resolved'),
      () => order.push('aborted rejected'),
    );
    const next = limiter.acquire().then(() => order.push('next'));
    controller.abort();
    await aborted;
    await advance(59_000);
    await next;
    expect(order).toEqual(['aborted rejected', 'next']);
    expect(limiter.available()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ignores an abort after the permit was granted', async () => {
    const { limiter } = setup(41_250);
    const controller = new AbortController();
    await limiter.acquire(controller.signal);
    controller.abort();
    expect(limiter.available()).toBe(116);
  });
});

describe('CommandRatelimiter.acquire (real timers, injected clock)', () => {
  it('serves waiters in order once the clock passes the freeing time, and drops an aborted one', async () => {
    const { limiter, tick } = setup(60_000);
    takeAll(limiter);
    tick(59_995); // the timers armed below are due in ~5 ms of real time
    const order: string[] = [];
    const controller = new AbortController();
    const a = limiter.acquire().then(() => order.push('a'));
    const gone = limiter.acquire(controller.signal).catch((error: unknown) => order.push(String(error)));
    const b = limiter.acquire().then(() => order.push('b'));
    controller.abort('aborted');
    await gone;
    tick(5); // every permit frees once the real timer fires
    await Promise.all([a, b]);
    expect(order).toEqual(['aborted', 'a', 'b']);
    expect(limiter.available()).toBe(116);
  });

  it('works on the default performance.now clock', async () => {
    const limiter = new CommandRatelimiter(41_250);
    await limiter.acquire();
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.available()).toBe(115);
  });
});
