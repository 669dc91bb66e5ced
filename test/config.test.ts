// Shard options: defaults, validation naming the option, freezing, and token redaction everywhere.
import util from 'node:util';
import { GatewayIntentBits, PresenceUpdateStatus, ActivityType } from 'discord-api-types/v10';
import type { GatewayPresenceUpdateData } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { ConfigError, Token, resolveShardConfig } from '../src/config.js';
import type { ShardConfig } from '../src/config.js';
import { ALL_INTENTS } from '../src/intents.js';
import { Session } from '../src/shard/session.js';
import { VERSION } from '../src/version.js';
import { MemoryLogger } from './support/memory-logger.js';

// Distinctive, so a leak anywhere shows up in a substring search.
const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GzQwRt.Sup3rS3cretT0kenPartThatMustNeverLeak_xyz';
const SECRET_PART = 'Sup3rS3cret';
const base = { token: TOKEN, intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages };

/** Runs `fn`, expects a ConfigError for `option`, and returns it. */
function configError(fn: () => unknown, option: string): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toBeInstanceOf(TypeError);
    const configError = error as ConfigError;
    expect(configError.option).toBe(option);
    expect(configError.name).toBe('ConfigError');
    expect(configError.message).toContain(`invalid shard config option ${option}:`);
    expect(configError.message).not.toContain(SECRET_PART);
    expect(String(configError.stack)).not.toContain(SECRET_PART);
    return configError;
  }
  throw new Error('expected a ConfigError');
}

const resolve = (extra: Record<string, unknown>) => () => resolveShardConfig({ ...base, ...extra });

describe('resolveShardConfig defaults', () => {
  it('fills in every default', () => {
    const config = resolveShardConfig(base);
    expect(config.token.reveal()).toBe(TOKEN);
    expect(config).toMatchObject({
      intents: 513,
      largeThreshold: 50,
      presence: null,
      identifyProperties: { os: process.platform, browser: 'gloaming', device: 'gloaming' },
      gatewayUrl: 'wss://gateway.discord.gg',
      userAgent: `DiscordBot (gloaming, ${VERSION}) Node.js/${process.version}`,
      compression: 'zlib-stream',
      allowInsecureUrls: false,
      ratelimitMessages: true,
      eventTypes: null,
      session: null,
      queue: null,
      logger: null,
      maxInflatedSize: 128 * 1024 * 1024,
      maxBufferedMessages: 256,
      timeouts: { connect: 15_000, hello: 10_000, ready: 60_000 },
      backoff: { initial: 1_000, max: 60_000, jitter: true },
      maxIdentifyFailures: 10,
    });
    expect(Object.keys(config).sort()).toEqual(
      [
        'token', 'intents', 'largeThreshold', 'presence', 'identifyProperties', 'gatewayUrl', 'compression', 'allowInsecureUrls', 'userAgent',
        'ratelimitMessages', 'eventTypes', 'session', 'queue', 'logger', 'maxInflatedSize', 'maxBufferedMessages', 'timeouts', 'backoff', 'maxIdentifyFailures',
      ].sort(),
    );
  });

  it('keeps given values and merges partial timeouts and backoff with defaults', () => {
    const session = new Session('abc', 7, 'ws://127.0.0.1:9/resume');
    const presence: GatewayPresenceUpdateData = {
      since: null,
      activities: [{ name: 'tests', type: ActivityType.Watching }],
      status: PresenceUpdateStatus.Idle,
      afk: false,
    };
    const config = resolveShardConfig({
      ...base,
      intents: 0,
      largeThreshold: 250,
      presence,
      identifyProperties: { os: 'linux', browser: 'b', device: 'd' },
      gatewayUrl: 'ws://127.0.0.1:1234/gateway',
      compression: null,
      allowInsecureUrls: true,
      ratelimitMessages: false,
      session,
      maxInflatedSize: 4096,
      maxBufferedMessages: 1,
      timeouts: { hello: 500 },
      backoff: { initial: 10, jitter: false },
    });
    expect(config).toMatchObject({
      intents: 0,
      largeThreshold: 250,
      presence,
      identifyProperties: { os: 'linux', browser: 'b', device: 'd' },
      gatewayUrl: 'ws://127.0.0.1:1234/gateway',
      compression: null,
      allowInsecureUrls: true,
      ratelimitMessages: false,
      maxInflatedSize: 4096,
      maxBufferedMessages: 1,
      timeouts: { connect: 15_000, hello: 500, ready: 60_000 },
      backoff: { initial: 10, max: 60_000, jitter: false },
    });
    expect(config.session).toBe(session);
    expect(resolveShardConfig({ ...base, compression: 'zstd-stream' }).compression).toBe('zstd-stream');
    expect(resolveShardConfig({ ...base, intents: ALL_INTENTS }).intents).toBe(ALL_INTENTS);
  });

  it('treats undefined options as absent', () => {
    const config = resolveShardConfig({ ...base, largeThreshold: undefined, session: undefined, timeouts: undefined });
    expect(config.largeThreshold).toBe(50);
    expect(config.session).toBeNull();
    expect(config.timeouts.ready).toBe(60_000);
  });

  it('is deeply frozen and detached from the caller’s objects', () => {
    const presence: GatewayPresenceUpdateData = { since: null, activities: [{ name: 'a', type: 0 }], status: PresenceUpdateStatus.Online, afk: false };
    const timeouts = { connect: 1000 };
    const config = resolveShardConfig({ ...base, presence, timeouts });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.timeouts)).toBe(true);
    expect(Object.isFrozen(config.backoff)).toBe(true);
    expect(Object.isFrozen(config.identifyProperties)).toBe(true);
    expect(Object.isFrozen(config.presence?.activities[0])).toBe(true);
    presence.activities[0]!.name = 'changed';
    timeouts.connect = 5;
    expect(config.presence?.activities[0]?.name).toBe('a');
    expect(config.timeouts.connect).toBe(1000);
    expect(Object.isFrozen(presence)).toBe(false);
  });

  it('resolves a resolved config to an equal one', () => {
    const once = resolveShardConfig({ ...base, backoff: { max: 5000 } });
    const twice = resolveShardConfig(once);
    expect(twice).toEqual(once);
    expect(twice.token).toBe(once.token);
  });
});

describe('the token', () => {
  it.each([
    [TOKEN],
    [`Bot ${TOKEN}`],
    [`bot  ${TOKEN}`],
    [`  Bot ${TOKEN}\n`],
    [`${TOKEN}\r\n`],
  ])('accepts %j and stores it without the prefix', (token) => {
    expect(resolveShardConfig({ ...base, token }).token.reveal()).toBe(TOKEN);
  });

  it('keeps a token that merely starts with Bot', () => {
    expect(new Token('Botanical.token').reveal()).toBe('Botanical.token');
  });

  it('accepts a Token instance', () => {
    const token = new Token(TOKEN);
    expect(resolveShardConfig({ ...base, token }).token).toBe(token);
  });

  it.each([
    [{ intents: 1 }, 'is required'],
    [{ token: undefined, intents: 1 }, 'is required'],
    [{ token: '', intents: 1 }, 'must not be empty'],
    [{ token: '   ', intents: 1 }, 'must not be empty'],
    [{ token: 'Bot ', intents: 1 }, 'must not be empty'],
    [{ token: 'Bot', intents: 1 }, 'must not be empty'],
    [{ token: 42, intents: 1 }, 'must be a string, got a number'],
    [{ token: `${TOKEN.slice(0, 30)} ${TOKEN.slice(30)}`, intents: 1 }, 'must not contain whitespace'],
    [{ token: `Bot ${TOKEN}\t${TOKEN}`, intents: 1 }, 'must not contain whitespace'],
    [{ token: `${TOKEN}\u0000`, intents: 1 }, 'control characters'],
  ])('rejects %o', (config, problem) => {
    const error = configError(() => resolveShardConfig(config as ShardConfig), 'token');
    expect(error.message).toContain(problem);
  });

  it('the Token constructor validates alike', () => {
    configError(() => new Token('Bot '), 'token');
    configError(() => new Token(`a ${TOKEN}`), 'token');
  });
});

describe('token redaction', () => {
  const config = resolveShardConfig({
    ...base,
    presence: { since: null, activities: [], status: PresenceUpdateStatus.Online, afk: false },
    session: new Session('sid', 3, null),
  });
  const outputs: [string, () => string][] = [
    ['util.inspect (depth Infinity)', () => util.inspect(config, { depth: Infinity })],
    ['util.inspect showHidden', () => util.inspect(config, { depth: Infinity, showHidden: true })],
    ['util.inspect customInspect: false', () => util.inspect(config, { depth: Infinity, showHidden: true, customInspect: false })],
    ['util.inspect of the token', () => util.inspect(config.token, { depth: Infinity, showHidden: true })],
    ["util.format('%o')", () => util.format('%o', config)],
    ["util.format('%O')", () => util.format('%O', config)],
    ["util.format('%s')", () => util.format('%s', config.token)],
    ["util.format('%j')", () => util.format('%j', config)],
    ['JSON.stringify', () => JSON.stringify(config)],
    ['JSON.stringify of the token', () => JSON.stringify(config.token)],
    ['String()', () => String(config.token)],
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- the template literal is what is tested
    ['template literal', () => `${config.token}`],
    ['string concatenation', () => '' + (config.token as unknown as string)],
    ['object spread', () => util.inspect({ ...config.token }, { showHidden: true })],
    ['Object.entries', () => util.inspect(Object.entries(config.token))],
    ['structuredClone', () => util.inspect(structuredClone(config), { depth: Infinity })],
  ];

  it.each(outputs)('%s does not show the token', (_name, output) => {
    const text = output();
    expect(text).not.toContain(SECRET_PART);
    expect(text).not.toContain(TOKEN.slice(0, 24));
  });

  it('prints [redacted token] in its place', () => {
    expect(String(config.token)).toBe('[redacted token]');
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- the template literal is what is tested
    expect(`${config.token}`).toBe('[redacted token]');
    expect(util.inspect(config.token)).toBe('[redacted token]');
    expect(util.inspect(config, { depth: Infinity })).toContain('token: [redacted token]');
    expect(util.format('%o', config)).toContain('[redacted token]');
    expect(JSON.parse(JSON.stringify(config))).toMatchObject({ token: '[redacted token]', intents: 513 });
  });

  it('reveal() returns the raw token', () => {
    expect(config.token.reveal()).toBe(TOKEN);
  });

  it('errors about other options do not quote a token placed there', () => {
    configError(resolve({ gatewayUrl: TOKEN }), 'gatewayUrl');
    configError(resolve({ gatewayUrl: `wss://x/${TOKEN}?v=1` }), 'gatewayUrl');
    configError(resolve({ gatewayUrl: `ws://x/${TOKEN}` }), 'gatewayUrl');
    configError(resolve({ userAgent: `${TOKEN}\n` }), 'userAgent');
    configError(resolve({ compression: `Bot ${TOKEN}` }), 'compression');
    configError(resolve({ identifyProperties: { os: 'linux', browser: 1, device: TOKEN } }), 'identifyProperties.browser');
    configError(resolve({ presence: { since: null, activities: [], status: TOKEN, afk: false } }), 'presence.status');
    configError(resolve({ session: { id: TOKEN, sequence: 1, resumeUrl: null } }), 'session');
    configError(resolve({ intents: TOKEN }), 'intents');
    const error = configError(resolve({ largeThreshold: TOKEN }), 'largeThreshold');
    expect(error.message).toContain('[redacted token]');
  });

  it('an error for a key named after the token does not quote it', () => {
    let caught: unknown;
    try {
      resolveShardConfig({ ...base, [TOKEN]: true } as ShardConfig);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).not.toContain(SECRET_PART);
  });
});

describe('validation', () => {
  it('rejects a config that is not an object', () => {
    for (const value of [null, undefined, TOKEN, 5, [base]]) {
      let caught: unknown;
      try {
        resolveShardConfig(value as unknown as ShardConfig);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).option).toBe('');
      expect((caught as Error).message).toMatch(/^invalid shard config: expected an options object, got/);
      expect((caught as Error).message).not.toContain(SECRET_PART);
    }
  });

  it.each([
    ['intent', 'intents'],
    ['large_threshold', 'largeThreshold'],
    ['gatewayURL', 'gatewayUrl'],
    ['compress', 'compression'],
  ])('rejects the unknown key %s and suggests %s', (key, suggestion) => {
    const error = configError(resolve({ [key]: 1 }), key);
    expect(error.message).toBe(`invalid shard config option ${key}: unknown option (did you mean ${suggestion}?)`);
  });

  it('reports an unknown key before a missing token', () => {
    configError(() => resolveShardConfig({ tokn: TOKEN, intents: 1 } as unknown as ShardConfig), 'tokn');
  });

  it('rejects an unknown key without a suggestion when nothing is close', () => {
    expect(configError(resolve({ shardCount: 2 }), 'shardCount').message).toBe('invalid shard config option shardCount: unknown option');
  });

  describe('intents', () => {
    it.each([[undefined], [-1], [1.5], ['513'], [Number.NaN], [null]])('rejects %o', (intents) => {
      expect(configError(resolve({ intents }), 'intents').message).toContain('must be a non-negative integer');
    });

    it('names undefined bits', () => {
      const error = configError(resolve({ intents: (1 << 17) | (1 << 23) | 1 }), 'intents');
      expect(error.message).toBe(
        'invalid shard config option intents: bits 131072 (1 << 17), 8388608 (1 << 23) are not gateway intents (Discord would close with 4013), got 8519681',
      );
      expect(configError(resolve({ intents: 2 ** 40 }), 'intents').message).toContain('bit 1099511627776 (1 << 40) is not a gateway intent');
      expect(configError(resolve({ intents: 2 ** 31 }), 'intents').message).toContain('(1 << 31)');
    });
  });

  it('checks largeThreshold is an integer from 50 to 250', () => {
    expect(configError(resolve({ largeThreshold: 300 }), 'largeThreshold').message).toBe(
      'invalid shard config option largeThreshold: must be an integer from 50 to 250, got 300',
    );
    configError(resolve({ largeThreshold: 49 }), 'largeThreshold');
    configError(resolve({ largeThreshold: 100.5 }), 'largeThreshold');
    configError(resolve({ largeThreshold: '100' }), 'largeThreshold');
    expect(resolveShardConfig({ ...base, largeThreshold: 50 }).largeThreshold).toBe(50);
  });

  describe('presence', () => {
    const ok = { since: null, activities: [], status: 'online', afk: false };
    it('accepts null as none', () => {
      expect(resolveShardConfig({ ...base, presence: null }).presence).toBeNull();
    });
    it.each([
      [[], 'presence', 'must be an object or null'],
      [{ ...ok, status: 'away' }, 'presence.status', 'must be one of online, dnd, idle, invisible, offline'],
      [{ ...ok, since: -1 }, 'presence.since', 'Unix time'],
      [{ ...ok, since: undefined }, 'presence.since', 'Unix time'],
      [{ ...ok, afk: 'no' }, 'presence.afk', 'must be a boolean'],
      [{ ...ok, activities: {} }, 'presence.activities', 'must be an array'],
      [{ ...ok, activities: [null] }, 'presence.activities[0]', 'must be an object'],
      [{ ...ok, activities: [{ type: 0 }] }, 'presence.activities[0].name', 'must be a string'],
      [{ ...ok, activities: [{ name: 'a', type: 0 }, { name: 'b', type: 9 }] }, 'presence.activities[1].type', 'must be an ActivityType'],
      [{ ...ok, activities: [{ name: 'a', type: 0, url: 5 }] }, 'presence.activities[0].url', 'must be a string or null'],
      [{ ...ok, since: 1n }, 'presence', 'must be JSON-serialisable'],
    ])('rejects %o naming %s', (presence, option, problem) => {
      expect(configError(resolve({ presence }), option).message).toContain(problem);
    });
    it('rejects a presence that would make IDENTIFY exceed 4096 bytes', () => {
      const presence = { ...ok, activities: [{ name: 'x'.repeat(4000), type: 0 }] };
      expect(configError(resolve({ presence }), 'presence').message).toMatch(/IDENTIFY would be up to \d+ bytes, over Discord's 4096-byte limit/);
    });
  });

  it('checks identifyProperties', () => {
    configError(resolve({ identifyProperties: 'linux' }), 'identifyProperties');
    expect(configError(resolve({ identifyProperties: { os: 'linux', browser: 'b' } }), 'identifyProperties.device').message).toBe(
      'invalid shard config option identifyProperties.device: must be a string, got undefined',
    );
    configError(resolve({ identifyProperties: { os: 'l', browser: 'b', device: 'd'.repeat(5000) } }), 'identifyProperties');
  });

  it.each([
    ['https://gateway.discord.gg', 'must be a wss: or ws: URL'],
    ['gateway.discord.gg', 'must be a valid URL'],
    ['wss://gateway.discord.gg/?v=10', 'must not set v in its query'],
    ['wss://gateway.discord.gg/gateway?compress=zstd-stream', 'must not set compress in its query'],
    ['wss://gateway.discord.gg#x', 'fragment'],
    ['wss://gateway.discord.gg#', 'fragment'],
    ['ws://example.com', 'ws: to example.com would carry the token unencrypted (use wss:, a loopback host, or set allowInsecureUrls)'],
    ['ws://10.0.0.1:8080/gateway', 'ws: to 10.0.0.1 would carry the token unencrypted'],
    ['ws://[::2]/', 'ws: to [::2] would carry the token unencrypted'],
    ['ws://localhost.example.com', 'would carry the token unencrypted'],
    [42, 'must be a string'],
  ])('rejects gatewayUrl %o', (gatewayUrl, problem) => {
    const error = configError(resolve({ gatewayUrl }), 'gatewayUrl');
    expect(error.message).toContain(problem);
  });

  it.each([
    'wss://gateway.discord.gg',
    'wss://gateway.example.com:8443/gateway/',
    'wss://gateway.discord.gg?',
    'wss://proxy.example.com/gateway?group=a',
    'ws://127.0.0.1:8080',
    'ws://127.1.2.3/gateway',
    'ws://localhost:3001/',
    'ws://[::1]:3001/gateway',
  ])('accepts gatewayUrl %s without allowInsecureUrls, as given', (gatewayUrl) => {
    expect(resolveShardConfig({ ...base, gatewayUrl }).gatewayUrl).toBe(gatewayUrl);
  });

  it('accepts ws: to another host only with allowInsecureUrls', () => {
    expect(resolveShardConfig({ ...base, gatewayUrl: 'ws://gateway.lan:3001', allowInsecureUrls: true }).gatewayUrl).toBe('ws://gateway.lan:3001');
  });

  it.each(['', ' leading', 'trailing ', 'line\nbreak', 'caf\u00e9', 42])('rejects userAgent %o', (userAgent) => {
    expect(configError(resolve({ userAgent }), 'userAgent').message).toContain('printable ASCII');
  });

  it('checks maxIdentifyFailures', () => {
    configError(resolve({ maxIdentifyFailures: 0 }), 'maxIdentifyFailures');
    configError(resolve({ maxIdentifyFailures: 1.5 }), 'maxIdentifyFailures');
    expect(resolveShardConfig({ ...base, maxIdentifyFailures: 1 }).maxIdentifyFailures).toBe(1);
  });

  it('rejects an unknown compression', () => {
    expect(configError(resolve({ compression: 'zlib' }), 'compression').message).toBe(
      "invalid shard config option compression: must be 'zlib-stream', 'zstd-stream' or null, got 'zlib'",
    );
    configError(resolve({ compression: false }), 'compression');
  });

  it('checks booleans', () => {
    configError(resolve({ allowInsecureUrls: 'yes' }), 'allowInsecureUrls');
    configError(resolve({ ratelimitMessages: 0 }), 'ratelimitMessages');
  });

  it('keeps the queue as given, unfrozen', () => {
    const queue = { waited: 0, enqueue: () => Promise.resolve() };
    const config = resolveShardConfig({ ...base, queue });
    expect(config.queue).toBe(queue);
    expect(Object.isFrozen(queue)).toBe(false);
    expect(resolveShardConfig({ ...base, queue: null }).queue).toBeNull();
    expect(configError(resolve({ queue: {} }), 'queue').message).toBe(
      'invalid shard config option queue: must be a Queue (an object with an enqueue method) or null, got an object',
    );
    configError(resolve({ queue: () => undefined }), 'queue');
  });

  it("keeps a logger of pino's shape as given, and names what a non-logger lacks", () => {
    const logger = new MemoryLogger();
    expect(resolveShardConfig({ ...base, logger }).logger).toBe(logger);
    expect(Object.isFrozen(logger)).toBe(false);
    expect(configError(resolve({ logger: console }), 'logger').message).toContain('must be a logger with trace, debug, info, warn, error, fatal and child');
  });

  it('requires session to be a Session', () => {
    expect(configError(resolve({ session: { id: 'a', sequence: 1, resumeUrl: null } }), 'session').message).toContain('Session.fromJSON');
  });

  it('checks maxInflatedSize and maxBufferedMessages', () => {
    expect(configError(resolve({ maxInflatedSize: 4095 }), 'maxInflatedSize').message).toMatch(/must be an integer from 4096 to \d+, got 4095/);
    configError(resolve({ maxInflatedSize: 2 ** 60 }), 'maxInflatedSize');
    expect(configError(resolve({ maxBufferedMessages: 0 }), 'maxBufferedMessages').message).toBe(
      'invalid shard config option maxBufferedMessages: must be an integer >= 1, got 0',
    );
    configError(resolve({ maxBufferedMessages: 1.5 }), 'maxBufferedMessages');
  });

  it('checks timeouts', () => {
    configError(resolve({ timeouts: 1000 }), 'timeouts');
    configError(resolve({ timeouts: { hello: 0 } }), 'timeouts.hello');
    configError(resolve({ timeouts: { ready: 2 ** 31 } }), 'timeouts.ready');
    configError(resolve({ timeouts: { connect: -5 } }), 'timeouts.connect');
    expect(configError(resolve({ timeouts: { helo: 5 } }), 'timeouts.helo').message).toContain('did you mean hello?');
  });

  it('checks backoff', () => {
    configError(resolve({ backoff: { initial: 0 } }), 'backoff.initial');
    configError(resolve({ backoff: { max: 1.5 } }), 'backoff.max');
    configError(resolve({ backoff: { jitter: 1 } }), 'backoff.jitter');
    configError(resolve({ backoff: { cap: 1 } }), 'backoff.cap');
    expect(configError(resolve({ backoff: { initial: 120_000 } }), 'backoff.initial').message).toBe(
      'invalid shard config option backoff.initial: must not exceed backoff.max (60000), got 120000',
    );
    expect(resolveShardConfig({ ...base, backoff: { initial: 5, max: 5 } }).backoff).toEqual({ initial: 5, max: 5, jitter: true });
  });
});
