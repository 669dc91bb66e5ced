// The small pure pieces of the shard's lifecycle: the reconnect decision and its backoff, close-code classification, close frames.
import { describe, expect, it } from 'vitest';
import { backoffDelay, decideReconnect, describeCause } from '../../src/shard/disconnect.js';
import type { DisconnectCause, ReconnectHistory } from '../../src/shard/disconnect.js';
import { CloseFrame, closeAction, fatalCloseAdvice } from '../../src/shard/close-codes.js';

describe('backoffDelay', () => {
  const options = { initial: 1_000, max: 60_000, jitter: false };
  it('reconnects at once the first time, then doubles up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((attempt) => backoffDelay(attempt, options))).toEqual([
      0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000,
    ]);
  });
  it('spreads each delay over [delay/2, delay) with jitter', () => {
    const jittered = { ...options, jitter: true };
    expect(backoffDelay(4, jittered, () => 0)).toBe(2_000);
    expect(backoffDelay(4, jittered, () => 0.999)).toBeCloseTo(3_998, 0);
    expect(backoffDelay(1, jittered, () => 0.5)).toBe(0);
  });
});

describe('decideReconnect', () => {
  const history: ReconnectHistory = { attempts: 1, identifyFailures: 0, queueFailures: 0, maxIdentifyFailures: 3, backoff: { initial: 1_000, max: 60_000, jitter: false } };
  const close = (code: number): DisconnectCause => ({ kind: 'CloseCode', code, reason: '' });

  it('resumes at once after a first drop of any kind that keeps the session', () => {
    const causes: DisconnectCause[] = [
      { kind: 'Reconnect' },
      { kind: 'InvalidSession', resumable: true },
      { kind: 'Zombie' },
      close(1006),
      close(4000),
      { kind: 'Timeout', waitingFor: 'HELLO', ms: 10_000 },
      { kind: 'Decompression' },
      { kind: 'InvalidPayload', problem: 'x' },
      { kind: 'QueueFailed' },
      { kind: 'Transport' },
    ];
    for (const cause of causes) expect(decideReconnect(cause, history), describeCause(cause)).toEqual({ action: 'resume', delayMs: 0 });
  });
  it('starts a new session after op 9 false (waiting 1-5 s) and after 4007 and 4009', () => {
    expect(decideReconnect({ kind: 'InvalidSession', resumable: false }, history, () => 0)).toEqual({ action: 'identify', delayMs: 1_000 });
    expect(decideReconnect({ kind: 'InvalidSession', resumable: false }, history, () => 0.999)).toEqual({ action: 'identify', delayMs: 4_996 });
    for (const code of [4007, 4009]) expect(decideReconnect(close(code), history)).toEqual({ action: 'identify', delayMs: 0 });
  });
  it('ends the shard for a fatal close code, even one that ended an IDENTIFY', () => {
    for (const code of [4004, 4010, 4011, 4012, 4013, 4014]) {
      expect(decideReconnect(close(code), { ...history, identifyFailures: 1 })).toEqual({ action: 'fatal', reason: 'closeCode' });
    }
  });
  it('ends the shard on the last IDENTIFY in a row allowed to fail, whatever the cause', () => {
    expect(decideReconnect({ kind: 'Zombie' }, { ...history, identifyFailures: 2 })).toEqual({ action: 'resume', delayMs: 2_000 });
    expect(decideReconnect(close(4009), { ...history, identifyFailures: 3 })).toEqual({ action: 'fatal', reason: 'identifyFailures' });
  });
  it('waits longer with each attempt and with each failed identify or queue rejection', () => {
    expect(decideReconnect({ kind: 'Transport' }, { ...history, attempts: 4 })).toEqual({ action: 'resume', delayMs: 4_000 });
    expect(decideReconnect({ kind: 'QueueFailed' }, { ...history, queueFailures: 3 })).toEqual({ action: 'resume', delayMs: 4_000 });
    expect(decideReconnect({ kind: 'QueueFailed' }, { ...history, queueFailures: 1, identifyFailures: 1 })).toEqual({ action: 'resume', delayMs: 2_000 });
  });
  it("stops after the user's close", () => {
    expect(decideReconnect({ kind: 'UserClose', code: 1000 }, { ...history, identifyFailures: 5 })).toEqual({ action: 'stop' });
  });
});

describe('closeAction', () => {
  it('ends the shard only for 4004 and 4010–4014', () => {
    for (const code of [4004, 4010, 4011, 4012, 4013, 4014]) expect(closeAction(code)).toBe('fatal');
    for (const code of [4007, 4009]) expect(closeAction(code)).toBe('identify');
    for (const code of [null, 1000, 1001, 1006, 1011, 4000, 4001, 4002, 4003, 4005, 4008, 4999]) expect(closeAction(code)).toBe('resume');
  });
  it('explains every fatal code with what to do', () => {
    expect([4004, 4010, 4011, 4012, 4013, 4014].map(fatalCloseAdvice)).toEqual([
      expect.stringMatching(/token is invalid or was reset/),
      expect.stringMatching(/shard id and total/),
      expect.stringMatching(/use more shards/),
      expect.stringMatching(/API version/),
      expect.stringMatching(/undefined bits/),
      expect.stringMatching(/enable the privileged intents/),
    ]);
    expect(fatalCloseAdvice(4999)).toBe('closed with 4999');
  });
});

describe('CloseFrame', () => {
  it('NORMAL ends the session, RESUME keeps it', () => {
    expect(CloseFrame.NORMAL).toMatchObject({ code: 1000, resumable: false });
    expect(CloseFrame.RESUME).toMatchObject({ code: 4000, resumable: true });
  });
  it('refuses codes a client may not send', () => {
    expect(() => new CloseFrame(1006)).toThrow(/1000 or an integer from 3000 to 4999/);
    expect(() => new CloseFrame(4000, 'x'.repeat(124))).toThrow(/123 bytes/);
  });
});
