// The routing pieces of a reshard, on their own: pairing copies of events across two shard
// sets, and following a new set to the point where it can take over.
import { describe, expect, it } from 'vitest';
import { EventPairing, NewSetProgress, eventKey, resolveReshardOptions } from '../../src/fleet/resharding.js';

describe('EventPairing', () => {
  it('pairs each copy with one of the other set; alike events of one set pair one to one', () => {
    const pairing = new EventPairing(60_000);
    const typing = eventKey('TYPING_START', '{"user_id":"1","timestamp":5}');
    expect(pairing.offer(typing, { set: 'old', at: 0 })).toBeUndefined();
    expect(pairing.offer(typing, { set: 'old', at: 1 })).toBeUndefined(); // typed twice in one second
    expect(pairing.offer(typing, { set: 'new', at: 2 })).toEqual({ set: 'old', at: 0 });
    expect(pairing.offer(typing, { set: 'new', at: 3 })).toEqual({ set: 'old', at: 1 });
    expect(pairing.offer(typing, { set: 'new', at: 4 })).toBeUndefined(); // a third, new-set first
    expect(pairing.matched).toBe(2);
    expect(pairing.unmatched).toBe(1);
  });

  it('forgets a copy the other set did not match within the window', () => {
    const pairing = new EventPairing(1_000);
    const key = eventKey('MESSAGE_CREATE', '{"id":"9"}');
    pairing.offer(key, { set: 'old', at: 0 });
    expect(pairing.offer(eventKey('MESSAGE_CREATE', '{"id":"10"}'), { set: 'new', at: 1_500 })).toBeUndefined();
    expect(pairing.offer(key, { set: 'new', at: 1_600 })).toBeUndefined();
    expect(pairing.unmatched).toBe(2);
  });

  it('keys by t and d: the same d under another name is another event', () => {
    expect(eventKey('GUILD_UPDATE', '{}')).not.toBe(eventKey('GUILD_DELETE', '{}'));
    expect(eventKey('A', '{"x":1}')).toBe(eventKey('A', '{"x":1}'));
  });
});

describe('NewSetProgress', () => {
  it('is complete once every shard is READY and has created the guilds its READY listed', () => {
    const progress = new NewSetProgress([0, 1], 15_000);
    expect(progress.see(0, 'READY', { guilds: [{ id: 'a', unavailable: true }, { id: 'b', unavailable: true }] }, 0)).toBe('session');
    expect(progress.see(0, 'GUILD_CREATE', { id: 'a' }, 1)).toBe('snapshot');
    expect(progress.complete(2)).toBe(false);
    expect(progress.see(1, 'READY', { guilds: [] }, 3)).toBe('session');
    expect(progress.guildsPending).toBe(1);
    expect(progress.see(0, 'GUILD_DELETE', { id: 'b', unavailable: true }, 4)).toBe('snapshot'); // in an outage: counts as known
    expect(progress.complete(5)).toBe(true);
    expect(progress.see(0, 'GUILD_CREATE', { id: 'a' }, 6)).toBe('event'); // created again: a guild joined
    expect(progress.see(1, 'MESSAGE_CREATE', {}, 7)).toBe('event');
    expect(progress.see(1, 'RESUMED', {}, 8)).toBe('session');
  });

  it('stops waiting for guilds after the timeout; a second READY starts the shard over', () => {
    const progress = new NewSetProgress([0], 1_000);
    progress.see(0, 'READY', { guilds: [{ id: 'a' }] }, 0);
    expect(progress.complete(999)).toBe(false);
    expect(progress.complete(1_000)).toBe(true);
    progress.see(0, 'READY', { guilds: [{ id: 'a' }, { id: 'b' }] }, 2_000);
    expect(progress.guildsPending).toBe(2);
    expect(progress.complete(2_500)).toBe(false);
    expect(progress.see(0, 'GUILD_DELETE', { id: 'a' }, 2_600)).toBe('event'); // removed from the guild, not an outage
    expect(progress.guildsPending).toBe(1);
  });
});

describe('resolveReshardOptions', () => {
  it('fills in the defaults and names a bad option', () => {
    expect(resolveReshardOptions()).toEqual({ checkInterval: null, threshold: 0, dedupeWindow: 60_000, guildTimeout: 15_000, drainTime: 1_000 });
    expect(() => resolveReshardOptions({ checkInterval: 10 })).toThrow('reshard.checkInterval must be a number of at least 1000, got 10');
    expect(() => resolveReshardOptions({ threshold: -1 })).toThrow(/reshard.threshold/);
  });
});
