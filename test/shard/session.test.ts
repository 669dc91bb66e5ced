// Session: validation naming the bad field, immutability, and the JSON round trip.
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/shard/session.js';

describe('Session', () => {
  it('holds id, sequence and resume URL', () => {
    const session = new Session('abc', 42, 'wss://gateway-us-east1-b.discord.gg');
    expect(session.id).toBe('abc');
    expect(session.sequence).toBe(42);
    expect(session.resumeUrl).toBe('wss://gateway-us-east1-b.discord.gg');
    expect(new Session('abc', 0, null).resumeUrl).toBeNull();
  });

  it('is frozen', () => {
    const session = new Session('abc', 1, null);
    expect(Object.isFrozen(session)).toBe(true);
    expect(() => {
      (session as { sequence: number }).sequence = 2;
    }).toThrow(TypeError);
  });

  it.each([
    ['', 0, null, /Session id must be a non-empty string, got ''/],
    [7, 0, null, /Session id must be a non-empty string, got 7/],
    ['abc', -1, null, /Session sequence must be a non-negative integer, got -1/],
    ['abc', 1.5, null, /Session sequence .* got 1\.5/],
    ['abc', Number.NaN, null, /Session sequence .* got NaN/],
    ['abc', 2 ** 53, null, /Session sequence .* got 9007199254740992/],
    ['abc', '3', null, /Session sequence .* got '3'/],
    ['abc', 0, '', /Session resumeUrl must be a non-empty string or null, got ''/],
    ['abc', 0, undefined, /Session resumeUrl .* got undefined/],
    ['abc', 0, 42, /Session resumeUrl .* got 42/],
  ])('rejects new Session(%o, %o, %o)', (id, sequence, resumeUrl, message) => {
    const make = () => new Session(id as string, sequence as number, resumeUrl as string | null);
    expect(make).toThrow(TypeError);
    expect(make).toThrow(message);
  });

  it('withSequence returns a new session with the same id and URL', () => {
    const session = new Session('abc', 1, 'ws://127.0.0.1:1/resume');
    const next = session.withSequence(9);
    expect(next).not.toBe(session);
    expect(next).toEqual(new Session('abc', 9, 'ws://127.0.0.1:1/resume'));
    expect(session.sequence).toBe(1);
    expect(() => session.withSequence(-2)).toThrow(/sequence .* got -2/);
  });

  it('round-trips through JSON', () => {
    for (const session of [new Session('abc', 42, 'wss://resume.example'), new Session('x', 0, null)]) {
      const text = JSON.stringify(session);
      expect(JSON.parse(text)).toEqual({ id: session.id, sequence: session.sequence, resumeUrl: session.resumeUrl });
      const back = Session.fromJSON(JSON.parse(text));
      expect(back).toBeInstanceOf(Session);
      expect(back).toEqual(session);
    }
  });

  it('fromJSON ignores extra fields', () => {
    expect(Session.fromJSON({ id: 'a', sequence: 1, resumeUrl: null, shard: [0, 1] })).toEqual(new Session('a', 1, null));
  });

  it.each([
    [null, /Session JSON must be an object, got null/],
    ['{"id":"a"}', /Session JSON must be an object, got '\{"id":"a"\}'/],
    [[1, 2], /Session JSON must be an object/],
    [{ sequence: 1, resumeUrl: null }, /Session JSON field id must be a non-empty string, got undefined/],
    [{ id: 'a', resumeUrl: null }, /Session JSON field sequence must be a non-negative integer, got undefined/],
    [{ id: 'a', sequence: -5, resumeUrl: null }, /field sequence .* got -5/],
    [{ id: 'a', sequence: 1 }, /Session JSON field resumeUrl must be a non-empty string or null, got undefined/],
    [{ id: 'a', sequence: 1, resumeUrl: {} }, /field resumeUrl .* got \{\}/],
  ])('fromJSON rejects %o', (value, message) => {
    expect(() => Session.fromJSON(value)).toThrow(TypeError);
    expect(() => Session.fromJSON(value)).toThrow(message);
  });
});
