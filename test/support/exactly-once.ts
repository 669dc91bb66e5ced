/**
 * The central promise, as a suite to run against each gateway FakeGateway can play: every
 * sequence of a session reaches the consumer exactly once, in order, through every fault a
 * client can resume from, and through the faults that end a session.
 */
import { describe, expect, it } from 'vitest';
import type { Fault, FakeGateway, FakeGatewayPreset } from '../../src/testing/index.js';
import { startGateway } from './gateway.js';
import type { Reader } from './shard.js';
import { expectEverySequenceOnce, shardsPerTest } from './shard.js';

const last = (values: number[]): number => values[values.length - 1] ?? 0;

/** Runs until the consumer is well into a session, applies `fault`, and waits until well past it. */
async function throughFault(gateway: FakeGateway, reader: Reader, fault: Fault, after: (e: { type: string }) => boolean): Promise<void> {
  await reader.until(() => reader.shard.state.kind === 'Active' && reader.sequences().length > 20);
  const at = gateway.sessions()[0]?.sequence ?? 0;
  expect(gateway.inject(fault)).toBe(1);
  await gateway.log.waitFor(after);
  await reader.until(() => reader.shard.state.kind === 'Active' && last(reader.sequences()) >= at + 30 && reader.sessions().at(-1)!.length > 30);
}

const RESUMABLE: [string, Fault][] = [
  ['TCP drop', { type: 'drop' }],
  ['op 7 reconnect', { type: 'reconnect' }],
  ['op 9 d:true', { type: 'invalid-session', resumable: true }],
  ['zombie (no ACKs)', { type: 'stop-acks' }],
  ['corrupt compressed frame', { type: 'corrupt-frame' }],
  ['invalid JSON', { type: 'invalid-json' }],
  // 3000 and 4999 are in no table of Discord's: a client resumes, as after 4000.
  ...[1000, 1001, 1011, 3000, 4000, 4001, 4002, 4003, 4005, 4008, 4999].map((code): [string, Fault] => [`close ${code}`, { type: 'close', code }]),
];

const SESSION_ENDING: [string, Fault][] = [
  ['op 9 d:false', { type: 'invalid-session', resumable: false }],
  ['close 4007', { type: 'close', code: 4007 }],
  ['close 4009', { type: 'close', code: 4009 }],
];

/**
 * Registers the exactly-once suite against FakeGateway playing `preset`. A gateway that
 * refuses RESUME (Spacebar) must be met with exactly one new identify per fault, after op 9.
 */
export function exactlyOnceSuite(preset: FakeGatewayPreset): void {
  const start = startGateway({ preset, identifyInterval: 0, guilds: 3, rate: 100, heartbeatInterval: 400 });
  const open = shardsPerTest();

  describe(`every sequence exactly once through resumable faults (${preset})`, () => {
    it.each(RESUMABLE)('%s: resumes where the gateway allows, else identifies once; nothing lost or repeated', async (_name, fault) => {
      const g = await start();
      const { reader } = open(g);
      const resumes = g.options.resume;
      await throughFault(g, reader, fault, (e) => e.type === (resumes ? 'resume' : 'identify') && g.log.ofType('identify').length === (resumes ? 1 : 2));
      expectEverySequenceOnce(reader, g.options.firstSequence);
      expect(reader.error).toBeNull();
      if (resumes) {
        expect(reader.sessions()).toHaveLength(1);
        expect(g.log.ofType('identify')).toHaveLength(1);
        const resume = g.log.ofType('resume')[0]!;
        expect(g.log.ofType('connect').find((c) => c.connection === resume.connection)?.path).toBe('resume');
      } else {
        expect(reader.sessions()).toHaveLength(2);
        expect(g.log.ofType('identify')).toHaveLength(2);
        expect(g.log.ofType('resume-rejected').map((e) => e.reason)).toEqual(['unsupported']);
        expect(g.log.ofType('resume')).toHaveLength(0);
      }
    });
  });

  describe(`faults that end the session (${preset})`, () => {
    it.each(SESSION_ENDING)('%s: exactly one new identify, and the new session is complete', async (_name, fault) => {
      const g = await start();
      const { reader } = open(g);
      await throughFault(g, reader, fault, () => g.log.ofType('identify').length === 2);
      expectEverySequenceOnce(reader, g.options.firstSequence);
      expect(reader.sessions()).toHaveLength(2);
      expect(g.log.ofType('identify')).toHaveLength(2);
      expect(g.log.ofType('resume')).toHaveLength(0);
      expect(g.log.ofType('resume-rejected')).toHaveLength(0);
    });
  });
}
