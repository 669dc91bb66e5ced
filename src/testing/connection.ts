/**
 * The simulator's side of one client websocket: HELLO, heartbeats, IDENTIFY and RESUME
 * validation with Discord's close codes, the send ratelimit, commands, and sending the
 * attached session's dispatches in order.
 */
import { GatewayDispatchEvents, GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';
import type { WebSocket } from 'ws';
import { ALL_INTENTS } from '../intents.js';
import type { Fault } from './faults.js';
import { SESSION_ENDING_CLOSE_CODES } from './faults.js';
import type { IdentifyLimits } from './identify-limits.js';
import type { GatewayLog } from './log.js';
import type { ResolvedOptions } from './options.js';
import type { SessionSink, SimulatedSession } from './session.js';
import type { Transport } from './transport.js';
import type { World } from './world.js';

/** Largest payload a client may send, in bytes (protocol.md section 7). */
const MAX_CLIENT_PAYLOAD = 4096;
/** Client payloads allowed per connection per window before close 4008. */
const SEND_LIMIT = 120;
const SEND_WINDOW_MS = 60_000;
/** Full member list requests: one per guild per this long. */
const FULL_MEMBER_LIST_INTERVAL_MS = 30_000;
/** Sends not yet flushed to the kernel that `'max'` traffic keeps in flight per connection. */
export const MAX_IN_FLIGHT = 8;

/** What a connection needs from the gateway that owns it. */
export interface ConnectionContext {
  readonly options: ResolvedOptions;
  readonly world: World;
  readonly log: GatewayLog;
  readonly limits: IdentifyLimits;
  readonly resumeUrl: string;
  findSession(id: string): SimulatedSession | undefined;
  openSession(shard: [number, number], intents: number, largeThreshold: number): SimulatedSession;
  /** Appends a dispatch to a session if its intents let it through. */
  emit(session: SimulatedSession, t: string, d: unknown, inGuild: boolean): void;
  /** A READY fault armed for this shard's next IDENTIFY, taken (at most once). */
  takeReadyFault(shard: number): Fault | undefined;
  /** When the full member list of a guild was last requested (bot-wide), and record now. */
  fullMemberListRequest(guildId: string, now: number): number | undefined;
  /** The connection can take more traffic (matters when traffic runs as fast as the client reads). */
  refill(connection: GatewayConnection): void;
  connectionClosed(connection: GatewayConnection): void;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isSnowflake = (value: unknown): value is string => typeof value === 'string' && /^\d{1,20}$/.test(value);

/** A close the connection owes the client, thrown from validation and caught in one place. */
class CloseWith extends Error {
  constructor(
    readonly code: number,
    reason: string,
  ) {
    super(reason);
  }
}

/**
 * One accepted websocket, speaking the gateway protocol as Discord's server side.
 * Created by FakeGateway; tests see it only through the log and fault targets.
 */
export class GatewayConnection implements SessionSink {
  readonly id: number;
  readonly path: 'gateway' | 'resume';
  readonly #socket: WebSocket;
  readonly #transport: Transport;
  readonly #context: ConnectionContext;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #receivedAt: number[] = [];
  #session: SimulatedSession | null = null;
  /** The shard from IDENTIFY or the resumed session. */
  #shard: number | null = null;
  /** Last sequence written to this socket, and the last one that counts as a replay. */
  #sentSequence = 0;
  #replayUntil = 0;
  #paused = false;
  #acking = true;
  #splitNext = 1;
  #inFlight = 0;
  #closed = false;
  #heartbeatWatchdog: NodeJS.Timeout | null = null;

  constructor(id: number, path: 'gateway' | 'resume', socket: WebSocket, transport: Transport, context: ConnectionContext) {
    this.id = id;
    this.path = path;
    this.#socket = socket;
    this.#transport = transport;
    this.#context = context;
    socket.on('message', (data: Buffer, isBinary) => this.#onMessage(data, isBinary));
    socket.on('close', (code, reason) => this.#onSocketClosed(code, reason.toString()));
    socket.on('error', () => this.#onSocketClosed(1006, 'socket error'));
  }

  /** The shard this connection serves, once it identified or resumed. */
  get shard(): number | null {
    return this.#shard;
  }

  /** The session attached to this connection, if any. */
  get session(): SimulatedSession | null {
    return this.#session;
  }

  /**
   * Whether the connection may be sent traffic now. A socket the peer is closing counts as
   * gone: sends to it fail at once, and refilling on those failures would spin forever.
   */
  get streaming(): boolean {
    return this.#open && !this.#paused && this.#session !== null;
  }

  get #open(): boolean {
    return !this.#closed && this.#socket.readyState === this.#socket.OPEN;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends HELLO now, after `delayMs`, or never (`null`), as a fault may ask. */
  start(delayMs: number | null): void {
    if (delayMs === null) return;
    if (delayMs === 0) this.#sendHello();
    else this.#later(delayMs, () => this.#sendHello());
  }

  /** Writes the attached session's dispatches that this socket has not had yet. */
  deliver(): void {
    const session = this.#session;
    if (session === null || !this.#open || this.#paused) return;
    const pending = session.after(this.#sentSequence);
    if (pending === null) return;
    for (const dispatch of pending) {
      const pieces = this.#splitNext;
      this.#splitNext = 1;
      this.#inFlight += 1;
      this.#transport.send(dispatch.payload, pieces, this.#onSent);
      this.#sentSequence = dispatch.sequence;
      this.#context.log.add({
        type: 'dispatch',
        connection: this.id,
        shard: session.shard,
        session: session.id,
        sequence: dispatch.sequence,
        t: dispatch.t,
        replay: dispatch.sequence <= this.#replayUntil,
        world: dispatch.world,
      });
    }
  }

  readonly #onSent = (): void => {
    this.#inFlight -= 1;
    if (this.#inFlight < MAX_IN_FLIGHT) this.#context.refill(this);
  };

  /** Applies a live-connection fault. Connection-start and READY faults are armed by the gateway instead. */
  apply(fault: Fault): void {
    if (this.#closed) return;
    switch (fault.type) {
      case 'drop':
        this.drop();
        break;
      case 'close':
        this.close(fault.code, fault.reason ?? 'closed by fault injection');
        break;
      case 'reconnect':
        this.#sendOp(GatewayOpcodes.Reconnect, null);
        this.#later(this.#context.options.reconnectGrace, () => this.close(4000, 'reconnect requested by op 7'));
        break;
      case 'invalid-session':
        if (!fault.resumable) this.#session?.end();
        this.#sendOp(GatewayOpcodes.InvalidSession, fault.resumable);
        break;
      case 'request-heartbeat':
        this.#sendOp(GatewayOpcodes.Heartbeat, null);
        break;
      case 'stop-acks':
        this.#acking = false;
        break;
      case 'corrupt-frame':
        this.#transport.sendCorrupt();
        break;
      case 'invalid-json':
        this.#transport.send('{"t":"MESSAGE_CREATE","s":');
        break;
      case 'unknown-opcode':
        this.#sendOp(fault.op ?? 99, null);
        break;
      case 'unknown-event':
        if (this.#session) this.#session.append(fault.t ?? 'GLOAMING_UNKNOWN_EVENT', { simulated: true });
        break;
      case 'huge-guild-create':
        if (this.#session) this.#emitHugeGuild(this.#session, fault.bytes ?? 5 * 1024 * 1024);
        break;
      case 'split-message':
        this.#splitNext = Math.max(2, fault.pieces ?? 8);
        break;
      case 'raw-frame':
        this.#transport.sendRaw(fault.data, fault);
        break;
      default:
        throw new TypeError(`fault ${fault.type} is armed for a new connection or READY, not applied to a live one`);
    }
  }

  /** Closes with a close frame. Session-ending codes make the session unresumable. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#finish('server', code, reason);
    this.#socket.close(code, reason.slice(0, 120));
  }

  /** Destroys the TCP connection without a close frame, as a network failure would. */
  drop(): void {
    if (this.#closed) return;
    this.#finish('server', 1006, 'dropped without a close frame');
    this.#socket.terminate();
  }

  #sendHello(): void {
    if (this.#closed) return;
    const interval = this.#context.options.heartbeatInterval;
    this.#sendOp(GatewayOpcodes.Hello, { heartbeat_interval: interval });
    this.#context.log.add({ type: 'hello', connection: this.id, heartbeatInterval: interval });
    this.#heartbeatWatchdog = setTimeout(
      () => this.close(4009, 'Session timed out: no heartbeat received in time'),
      this.#context.options.heartbeatTimeout,
    );
  }

  #sendOp(op: number, d: unknown): void {

    this.#transport.send(`{"t":null,"s":null,"op":${op},"d":${JSON.stringify(d)}}`);
  }

  #later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, ms);
    this.#timers.add(timer);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return;
    try {
      this.#handle(data, isBinary);
    } catch (error) {
      if (!(error instanceof CloseWith)) throw error;
      this.close(error.code, error.message);
    }
  }

  #handle(data: Buffer, isBinary: boolean): void {
    if (data.length > MAX_CLIENT_PAYLOAD) {
      throw new CloseWith(4002, `Decode error: payload of ${data.length} bytes is over the 4096 byte limit`);
    }
    this.#countSend();
    if (isBinary) throw new CloseWith(4002, 'Decode error: clients must send text frames (no compression)');
    const { ignoreInvalidPayloads } = this.#context.options;
    let payload: unknown;
    try {
      payload = JSON.parse(data.toString('utf8'));
    } catch {
      if (ignoreInvalidPayloads) return;
      throw new CloseWith(4002, 'Decode error: payload is not valid JSON');
    }
    if (!isObject(payload) || typeof payload.op !== 'number') {
      if (ignoreInvalidPayloads) return;
      throw new CloseWith(4002, 'Decode error: payload must be an object with a numeric op');
    }
    const op = payload.op as GatewayOpcodes;
    const d = payload.d;
    const identified = this.#session !== null;
    switch (op) {
      case GatewayOpcodes.Heartbeat:
        return this.#onHeartbeat(d);
      case GatewayOpcodes.Identify:
        if (identified) throw new CloseWith(4005, 'Already authenticated: second IDENTIFY on this connection');
        return this.#onIdentify(d);
      case GatewayOpcodes.Resume:
        if (identified) throw new CloseWith(4005, 'Already authenticated: RESUME after IDENTIFY or RESUME');
        return this.#onResume(d);
      case GatewayOpcodes.PresenceUpdate:
      case GatewayOpcodes.VoiceStateUpdate:
      case GatewayOpcodes.RequestGuildMembers:
      case GatewayOpcodes.RequestSoundboardSounds:
      case GatewayOpcodes.RequestChannelInfo:
        if (!identified) throw new CloseWith(4003, `Not authenticated: op ${op} sent before IDENTIFY`);
        this.#context.log.add({ type: 'command', connection: this.id, shard: this.#shard, op, d });
        return this.#onCommand(op, d);
      default:
        if (ignoreInvalidPayloads) return;
        throw new CloseWith(4001, `Unknown opcode: ${op}`);
    }
  }

  #countSend(): void {
    const now = Date.now();
    const times = this.#receivedAt;
    times.push(now);
    while (times.length > 0 && (times[0] as number) <= now - SEND_WINDOW_MS) times.shift();
    if (times.length > SEND_LIMIT) {
      throw new CloseWith(4008, `Rate limited: more than ${SEND_LIMIT} payloads in ${SEND_WINDOW_MS / 1000} s`);
    }
  }

  #onHeartbeat(d: unknown): void {
    if (d !== null && !Number.isInteger(d)) throw new CloseWith(4001, 'Invalid payload for op 1: d must be the last sequence or null');
    this.#heartbeatWatchdog?.refresh();
    this.#context.log.add({
      type: 'heartbeat',
      connection: this.id,
      shard: this.#shard,
      sequence: d as number | null,
      acked: this.#acking,
    });
    if (this.#acking) this.#sendOp(GatewayOpcodes.HeartbeatAck, this.#context.options.heartbeatAckData);
  }

  #checkToken(token: unknown): void {
    const { token: expected, invalidTokenCloseCode: code } = this.#context.options;
    if (typeof token !== 'string' || token.length === 0) throw new CloseWith(code, 'Authentication failed: no token');
    if (token.startsWith('Bot ')) throw new CloseWith(code, "Authentication failed: the gateway takes the bare token, without 'Bot '");
    if (expected !== null && token !== expected) throw new CloseWith(code, 'Authentication failed: invalid token');
  }

  #onIdentify(d: unknown): void {
    if (!isObject(d)) throw new CloseWith(4001, 'Invalid payload for op 2: d must be an object');
    this.#checkToken(d.token);
    if (!isObject(d.properties)) throw new CloseWith(4001, 'Invalid payload for op 2: properties must be an object');
    const { options } = this.#context;
    const intents = this.#checkIntents(d.intents);
    const shard = this.#parseShard(d.shard);
    const largeThreshold = d.large_threshold ?? 50;
    if (!Number.isInteger(largeThreshold) || (largeThreshold as number) < 50 || (largeThreshold as number) > 250) {
      throw new CloseWith(4001, 'Invalid payload for op 2: large_threshold must be an integer from 50 to 250');
    }
    const owned = this.#context.world.guildsForShard(shard[0], shard[1]);
    if (owned.length > options.maxGuildsPerShard) {
      throw new CloseWith(4011, `Sharding required: shard ${shard[0]}/${shard[1]} would hold ${owned.length} guilds (max ${options.maxGuildsPerShard})`);
    }
    const verdict = this.#context.limits.admit(shard[0]);
    if (verdict !== 'accepted') {
      this.#context.log.add({ type: 'identify-rejected', connection: this.id, shard: shard[0], reason: verdict });
      if (verdict === 'daily-limit') throw new CloseWith(4004, 'Authentication failed: daily identify limit spent, the token was reset');
      this.#sendOp(GatewayOpcodes.InvalidSession, false);
      return;
    }
    const session = this.#context.openSession(shard, intents, largeThreshold as number);
    if (d.presence !== undefined) session.presence = d.presence;
    this.#attach(session, session.sequence);
    this.#context.log.add({
      type: 'identify',
      connection: this.id,
      shard: shard[0],
      numShards: shard[1],
      session: session.id,
      intents,
    });
    this.#holdForReadyFault(shard[0]);
    const { world, resumeUrl } = this.#context;
    const ready = { v: 10, user: world.bot, guilds: owned.map((id) => ({ id, unavailable: true })), session_id: session.id };
    session.append(
      GatewayDispatchEvents.Ready,
      options.minimalReady
        ? ready
        : { ...ready, resume_gateway_url: resumeUrl, ...(d.shard === undefined ? {} : { shard }), application: { id: world.applicationId, flags: 0 } },
    );
    for (const guildId of owned) {
      this.#context.emit(session, GatewayDispatchEvents.GuildCreate, world.guildCreate(guildId, session.intents, session.largeThreshold), true);
    }
    this.#context.refill(this);
  }

  /** The IDENTIFY's intents; without `strictIdentify` any value is taken, and one that is not a bitfield counts as 0. */
  #checkIntents(intents: unknown): number {
    const valid = Number.isSafeInteger(intents) && (intents as number) >= 0;
    if (!this.#context.options.strictIdentify) return valid ? (intents as number) : 0;
    if (!valid) throw new CloseWith(4013, 'Invalid intent(s): intents must be a non-negative integer');
    if (((intents as number) & ~ALL_INTENTS) !== 0) throw new CloseWith(4013, `Invalid intent(s): undefined bits ${(intents as number) & ~ALL_INTENTS}`);
    const privileged = GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;
    const disallowed = (intents as number) & privileged & ~this.#context.options.privilegedIntents;
    if (disallowed !== 0) throw new CloseWith(4014, `Disallowed intent(s): privileged bits ${disallowed} are not enabled`);
    return intents as number;
  }

  /** The IDENTIFY's `[shard_id, num_shards]`; without `strictIdentify` an invalid one counts as `[0, 1]`. */
  #parseShard(value: unknown): [number, number] {
    if (value === undefined) return [0, 1];
    if (
      !Array.isArray(value) ||
      value.length !== 2 ||
      !Number.isInteger(value[0]) ||
      !Number.isInteger(value[1]) ||
      (value[1] as number) < 1 ||
      (value[0] as number) < 0 ||
      (value[0] as number) >= (value[1] as number)
    ) {
      if (!this.#context.options.strictIdentify) return [0, 1];
      throw new CloseWith(4010, `Invalid shard: ${JSON.stringify(value)} is not [shard_id, num_shards] with 0 <= shard_id < num_shards`);
    }
    return [value[0] as number, value[1] as number];
  }

  #holdForReadyFault(shard: number): void {
    const fault = this.#context.takeReadyFault(shard);
    if (fault === undefined) return;
    this.#paused = true;
    this.#context.log.add({ type: 'fault', connection: this.id, shard, fault });
    if (fault.type === 'delay-ready') {
      this.#later(fault.ms, () => {
        this.#paused = false;
        this.deliver();
        this.#context.refill(this);
      });
    }
  }

  #onResume(d: unknown): void {
    if (!isObject(d)) throw new CloseWith(4001, 'Invalid payload for op 6: d must be an object');
    this.#checkToken(d.token);
    const { session_id: sessionId, seq } = d;
    if (typeof sessionId !== 'string' || !Number.isInteger(seq) || (seq as number) < 0) {
      throw new CloseWith(4001, 'Invalid payload for op 6: needs session_id (string) and seq (integer)');
    }
    const reject = (reason: 'unknown-session' | 'expired' | 'replay-lost' | 'unsupported'): void => {
      this.#context.log.add({ type: 'resume-rejected', connection: this.id, session: sessionId, reason });
      this.#sendOp(GatewayOpcodes.InvalidSession, false);
    };
    if (!this.#context.options.resume) return reject('unsupported');
    const session = this.#context.findSession(sessionId);
    if (session === undefined) return reject('unknown-session');
    if (!session.resumable()) return reject('expired');
    if ((seq as number) > session.sequence) {
      session.end();
      this.#context.log.add({ type: 'resume-rejected', connection: this.id, session: sessionId, reason: 'sequence-ahead' });
      throw new CloseWith(4007, `Invalid seq: ${seq as number} is ahead of the session's ${session.sequence}`);
    }
    if (session.after(seq as number) === null) {
      session.end();
      return reject('replay-lost');
    }
    this.#attach(session, seq as number);
    this.#replayUntil = session.sequence;
    this.#context.log.add({
      type: 'resume',
      connection: this.id,
      shard: session.shard,
      session: session.id,
      sequence: seq as number,
      replayed: session.sequence - (seq as number),
    });
    this.deliver();
    session.append(GatewayDispatchEvents.Resumed, {});
    this.#context.refill(this);
  }

  #attach(session: SimulatedSession, sentSequence: number): void {
    this.#session = session;
    this.#shard = session.shard;
    this.#sentSequence = sentSequence;
    session.attach(this);
  }

  #onCommand(op: GatewayOpcodes, d: unknown): void {
    const session = this.#session as SimulatedSession;
    if (!isObject(d)) throw new CloseWith(4001, `Invalid payload for op ${op}: d must be an object`);
    switch (op) {
      case GatewayOpcodes.PresenceUpdate:
        return this.#onPresence(session, d);
      case GatewayOpcodes.VoiceStateUpdate:
        return this.#onVoiceState(session, d);
      case GatewayOpcodes.RequestGuildMembers:
        return this.#onRequestMembers(session, d);
      case GatewayOpcodes.RequestSoundboardSounds:
        return this.#onSoundboardSounds(session, d);
      default:
        return this.#onChannelInfo(session, d);
    }
  }

  #onPresence(session: SimulatedSession, d: Json): void {
    const statuses = ['online', 'dnd', 'idle', 'invisible', 'offline'];
    if (
      !(d.since === null || typeof d.since === 'number') ||
      !Array.isArray(d.activities) ||
      typeof d.status !== 'string' ||
      !statuses.includes(d.status) ||
      typeof d.afk !== 'boolean'
    ) {
      throw new CloseWith(4001, 'Invalid payload for op 3: needs since (number|null), activities (array), status, afk (boolean)');
    }
    session.presence = d;
  }

  #onVoiceState(session: SimulatedSession, d: Json): void {
    if (!isSnowflake(d.guild_id) || !(d.channel_id === null || isSnowflake(d.channel_id)) || typeof d.self_mute !== 'boolean' || typeof d.self_deaf !== 'boolean') {
      throw new CloseWith(4001, 'Invalid payload for op 4: needs guild_id, channel_id (or null), self_mute, self_deaf');
    }
    if (!this.#ownsGuild(session, d.guild_id)) return;
    let reply: ReturnType<World['botVoiceState']>;
    try {
      reply = this.#context.world.botVoiceState(d.guild_id, d.channel_id, d.self_mute, d.self_deaf, session.id);
    } catch {
      return; // Discord answers a channel it does not know with silence.
    }
    this.#context.emit(session, GatewayDispatchEvents.VoiceStateUpdate, reply.voiceState, true);
    if (reply.voiceServer !== null) this.#context.emit(session, GatewayDispatchEvents.VoiceServerUpdate, reply.voiceServer, true);
  }

  #onRequestMembers(session: SimulatedSession, d: Json): void {
    const { guild_id: guildId, query, limit, user_ids: userIds, presences } = d;
    if (!isSnowflake(guildId)) throw new CloseWith(4001, 'Invalid payload for op 8: guild_id must be one snowflake');
    const ids = typeof userIds === 'string' ? [userIds] : userIds;
    if (ids !== undefined && !(Array.isArray(ids) && ids.length <= 100 && ids.every(isSnowflake))) {
      throw new CloseWith(4001, 'Invalid payload for op 8: user_ids must be a snowflake or up to 100 of them');
    }
    if (ids === undefined && (typeof query !== 'string' || !Number.isInteger(limit) || (limit as number) < 0)) {
      throw new CloseWith(4001, 'Invalid payload for op 8: needs query (string) with limit (integer), or user_ids');
    }
    if (presences !== undefined && typeof presences !== 'boolean') throw new CloseWith(4001, 'Invalid payload for op 8: presences must be a boolean');
    const fullList = ids === undefined && query === '' && limit === 0;
    if (fullList && (session.intents & GatewayIntentBits.GuildMembers) === 0) {
      throw new CloseWith(4001, 'Invalid payload for op 8: the full member list needs the GUILD_MEMBERS intent');
    }
    // Discord's docs: without GUILD_PRESENCES, `presences` "will always be false".
    const withPresences = presences === true && (session.intents & GatewayIntentBits.GuildPresences) !== 0;
    const nonce = typeof d.nonce === 'string' && Buffer.byteLength(d.nonce) <= 32 ? d.nonce : undefined;
    if (!this.#ownsGuild(session, guildId)) return;
    if (fullList) {
      const now = Date.now();
      const last = this.#context.fullMemberListRequest(guildId, now);
      if (last !== undefined && now - last < FULL_MEMBER_LIST_INTERVAL_MS) {
        const retryAfter = (FULL_MEMBER_LIST_INTERVAL_MS - (now - last)) / 1000;
        this.#context.emit(session, GatewayDispatchEvents.RateLimited, { opcode: 8, retry_after: retryAfter, meta: { guild_id: guildId, ...(nonce === undefined ? {} : { nonce }) } }, true);
        return;
      }
    }
    const result = this.#context.world.members(guildId, {
      ...(typeof query === 'string' ? { query } : {}),
      ...(typeof limit === 'number' ? { limit } : {}),
      ...(ids === undefined ? {} : { userIds: ids }),
      presences: withPresences,
    });
    const chunkCount = Math.max(1, Math.ceil(result.members.length / 1000));
    for (let index = 0; index < chunkCount; index++) {
      const members = result.members.slice(index * 1000, (index + 1) * 1000);
      const memberIds = new Set(members.map((member) => member.user.id));
      this.#context.emit(
        session,
        GatewayDispatchEvents.GuildMembersChunk,
        {
          guild_id: guildId,
          members,
          chunk_index: index,
          chunk_count: chunkCount,
          ...(index === chunkCount - 1 && result.notFound.length > 0 ? { not_found: result.notFound } : {}),
          ...(withPresences ? { presences: result.presences.filter((presence) => memberIds.has((presence as { user: { id: string } }).user.id)) } : {}),
          ...(nonce === undefined ? {} : { nonce }),
        },
        true,
      );
    }
  }

  #onSoundboardSounds(session: SimulatedSession, d: Json): void {
    if (!Array.isArray(d.guild_ids) || !d.guild_ids.every(isSnowflake)) {
      throw new CloseWith(4001, 'Invalid payload for op 31: guild_ids must be an array of snowflakes');
    }
    for (const guildId of d.guild_ids) {
      if (this.#ownsGuild(session, guildId)) {
        this.#context.emit(session, GatewayDispatchEvents.SoundboardSounds, this.#context.world.soundboardSounds(guildId), true);
      }
    }
  }

  #onChannelInfo(session: SimulatedSession, d: Json): void {
    const allowed = ['status', 'voice_start_time'];
    if (!isSnowflake(d.guild_id) || !Array.isArray(d.fields) || !d.fields.every((field) => allowed.includes(field as string))) {
      throw new CloseWith(4001, 'Invalid payload for op 43: needs guild_id and fields from ["status", "voice_start_time"]');
    }
    if (!this.#ownsGuild(session, d.guild_id)) return;
    this.#context.emit(session, GatewayDispatchEvents.ChannelInfo, this.#context.world.channelInfo(d.guild_id, d.fields as string[]), true);
  }

  /** Discord silently ignores commands about guilds that are not on the shard. */
  #ownsGuild(session: SimulatedSession, guildId: string): boolean {
    return this.#context.world.hasGuild(guildId) && session.owns(guildId);
  }

  #emitHugeGuild(session: SimulatedSession, bytes: number): void {
    const { d } = this.#context.world.hugeGuildCreate(session.shard, session.numShards, bytes);
    this.#context.emit(session, GatewayDispatchEvents.GuildCreate, d, true);
  }

  #onSocketClosed(code: number, reason: string): void {
    if (!this.#closed) this.#finish('client', code, reason);
  }

  /** Records the close and settles the session: ended, or resumable for a while. */
  #finish(by: 'server' | 'client', code: number, reason: string): void {
    this.#closed = true;
    this.#context.log.add({ type: 'close', connection: this.id, shard: this.#shard, by, code, reason });
    const session = this.#session;
    if (session !== null && session.isAttachedTo(this)) {
      const ends = !this.#context.options.resume || (by === 'client' ? code === 1000 || code === 1001 : SESSION_ENDING_CLOSE_CODES.has(code));
      if (ends) session.end();
      else session.detach(this, this.#context.options.sessionTimeout);
    }
    this.#release();
  }

  #release(): void {
    if (this.#heartbeatWatchdog) clearTimeout(this.#heartbeatWatchdog);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#transport.close();
    this.#context.connectionClosed(this);
  }
}
