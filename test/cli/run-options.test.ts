// `gloaming run`'s options: flags over GLOAMING_* over the config file, the token never from
// a flag, and errors that name the option.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOptions } from '../../src/cli/run.js';

const dir = mkdtempSync(join(tmpdir(), 'gloaming-run-'));
const file = (contents: unknown): string => {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof contents === 'string' ? contents : JSON.stringify(contents));
  return path;
};

describe('gloaming run options', () => {
  it('takes flags over the environment over the config file', () => {
    const config = file({ token: 'from-file', redis: 'redis://file:6379', shards: '0-3', total: 8, workers: 3, events: 'GUILD_CREATE' });
    const { service, metrics, logLevel } = runOptions(['--config', config, '--workers', '2', '--metrics', '127.0.0.1:9464'], { GLOAMING_REDIS: 'redis://env:6379', GLOAMING_EVENTS: 'MESSAGE_CREATE,INTERACTION_CREATE' });
    expect(service).toMatchObject({ token: 'from-file', redis: 'redis://env:6379', range: [0, 4], total: 8, workers: 2, events: ['MESSAGE_CREATE', 'INTERACTION_CREATE'], intents: 513, allowInsecureUrls: false });
    expect(metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(logLevel).toBe('info');
    expect(runOptions(['--redis', 'redis://x:1', '--cluster', '1/4', '--gateway-url', 'ws://127.0.0.1:9'], { DISCORD_TOKEN: 'env-token', GLOAMING_IDENTIFY_INTERVAL: '0' }).service).toMatchObject({
      token: 'env-token',
      cluster: { index: 1, count: 4 },
      allowInsecureUrls: true,
      identifyIntervalMs: 0,
    });
  });

  it('names what is missing or malformed', () => {
    const env = { DISCORD_TOKEN: 't' };
    expect(() => runOptions(['--redis', 'redis://x:1'], {})).toThrow('no token: set DISCORD_TOKEN');
    expect(() => runOptions(['--token', 't'], env)).toThrow(/Unknown option '--token'/);
    expect(() => runOptions([], env)).toThrow('--redis URL is required');
    expect(() => runOptions(['--redis', 'r', '--shards', '3-'], env)).toThrow('--shards takes A-B');
    expect(() => runOptions(['--redis', 'r', '--cluster', '2'], env)).toThrow('--cluster takes INDEX/COUNT');
    expect(() => runOptions(['--redis', 'r', '--events', 'MESSAGE_CREATE,NOPE'], env)).toThrow('--events takes dispatch event names (MESSAGE_CREATE,GUILD_CREATE,…), got "NOPE"');
    expect(() => runOptions(['--redis', 'r', '--workers', '0'], env)).toThrow('--workers must be a positive integer');
    expect(() => runOptions(['--config', file('{not json')], env)).toThrow(/--config .*config-.*\.json: /);
    expect(() => runOptions(['--config', file({ redis: 'redis://x:1', shards: { from: 0 } })], env)).toThrow('"shards" must be a string or a number');
    expect(() => runOptions(['--redis', 'r', '--reshard-interval', '10'], env)).toThrow('--reshard-interval must be at least 1000 ms, got 10');
    expect(() => runOptions(['--redis', 'r', '--reshard-threshold', 'half'], env)).toThrow('--reshard-threshold must be a non-negative number (a fraction: 0.2 is 20% more), got "half"');
  });

  it('--reshard-interval and --reshard-threshold turn on automatic resharding', () => {
    const env = { DISCORD_TOKEN: 't' };
    expect(runOptions(['--redis', 'r', '--reshard-interval', '3600000', '--reshard-threshold', '0.2'], env).service.reshard).toEqual({ checkInterval: 3_600_000, threshold: 0.2 });
    expect(runOptions(['--redis', 'r'], env).service.reshard).toBeUndefined();
  });
});
