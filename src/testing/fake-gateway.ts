/**
 * FakeGateway: a Discord gateway v10 simulator on 127.0.0.1 — the HTTP discovery
 * endpoints, the websocket server, the sessions, traffic and faults — for testing
 * gateway clients offline.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { receivesDispatch } from '../intents.js';
import { GatewayConnection } from './connection.js';
import type { ConnectionContext } from './connection.js';
import { MAX_IN_FLIGHT } from './connection.js';
import { DEFAULT_CHAOS_WEIGHTS, randomFault, validateFault } from './faults.js';
import type { ChaosOptions, Fault, FaultTarget } from './faults.js';
import { IdentifyLimits } from './identify-limits.js';
import { GatewayLog } from './log.js';
import { resolveOptions } from './options.js';
import type { FakeGatewayOptions, ResolvedOptions } from './options.js';
import { Random } from './random.js';
import { SimulatedSession } from './session.js';
import { Transport } from './transport.js';
import { World } from './world.js';

/** Client payloads larger than this are refused by the websocket layer (1009); smaller ones over 4096 B get 4002. */
const MAX_ACCEPTED_FRAME = 64 * 1024;
/** How often rate-driven traffic is produced, and expired sessions forgotten. */
const TRAFFIC_TICK_MS = 20;
const SWEEP_MS = 10_000;

/** A session as tests see it. */
export interface SessionInfo {
  /** The `session_id` READY gave, which RESUME names. */
  readonly id: string;
  /** The shard id from IDENTIFY. */
  readonly shard: number;
  /** The shard total from IDENTIFY. */
  readonly numShards: number;
  /** The intents bitfield from IDENTIFY. */
  readonly intents: number;
  /** The last sequence number the session gave out. */
  readonly sequence: number;
  /** `attached` to a connection, `detached` but resumable until it expires, or `ended` for good. */
  readonly state: 'attached' | 'detached' | 'ended';
  /** The last presence the client set (IDENTIFY or op 3), or null. */
  readonly presence: unknown;
}

/** A live connection as tests see it. */
export interface ConnectionInfo {
  /** Numbers connections from 1 in the order they opened; the log and fault targets use it. */
  readonly id: number;
  /** Whether the client connected to the gateway URL or the resume URL. */
  readonly path: 'gateway' | 'resume';
  /** The shard it serves; null until it identified or resumed. */
  readonly shard: number | null;
  /** The id of the session attached to it; null before IDENTIFY or RESUME. */
  readonly session: string | null;
}

/** Stops a chaos schedule. */
export interface ChaosHandle {
  /** Stops drawing faults; those already applied stay applied. */
  stop(): void;
}

/**
 * A Discord gateway simulator: real HTTP and websocket servers on 127.0.0.1 that behave
 * like Discord's gateway v10, with a seeded simulated world, traffic, faults and a log.
 *
 * @example
 * const gateway = await FakeGateway.start({ shards: 2, guilds: 20, rate: 10 });
 * // point a client at gateway.url (or gateway.restUrl for /gateway/bot)
 * gateway.inject({ type: 'reconnect' }, { shard: 0 });
 * await gateway.log.waitFor((entry) => entry.type === 'resume');
 * await gateway.close();
 */
export class FakeGateway {
  /** Websocket URL to connect to (what `/gateway` and `/gateway/bot` answer). */
  readonly url: string;
  /**
   * The `resume_gateway_url` READY gives: by default the same server on a distinct path, so
   * the log tells which a client used; or the `resumeGatewayUrl` option.
   */
  readonly resumeUrl: string;
  /** REST base, like `https://discord.com/api/v10`: serves `/gateway` and `/gateway/bot`. */
  readonly restUrl: string;
  /** The TCP port the simulator listens on (the one picked when the `port` option was 0). */
  readonly port: number;
  /** The options in effect, with every default filled in. */
  readonly options: ResolvedOptions;
  /** Everything that happened on the gateway, for assertions and `waitFor`. */
  readonly log: GatewayLog;
  /** The seeded guilds, members and traffic behind the gateway. */
  readonly world: World;
  /** Identify admission: the concurrency buckets and the daily `session_start_limit` budget. */
  readonly limits: IdentifyLimits;
  readonly #server: Server;
  /** What connections may ask of the gateway; kept off the public surface. */
  readonly #context: ConnectionContext;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<string, SimulatedSession>();
  readonly #connections = new Map<number, GatewayConnection>();
  readonly #helloFaults: Fault[] = [];
  readonly #readyFaults: { shard: number | null; fault: Fault }[] = [];
  readonly #fullListRequests = new Map<string, number>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #chaos = new Set<ChaosHandle>();
  /** Live sessions per shard total: traffic crosses totals only while there are two. */
  readonly #totals = new Map<number, number>();
  #recommendedShards: number;
  #nextConnectionId = 1;
  #sessionSeeds = 0;
  #worldEvents = 0;
  #lastTick = Date.now();
  #closing: Promise<void> | null = null;

  private constructor(server: Server, wss: WebSocketServer, options: ResolvedOptions) {
    this.#server = server;
    this.#wss = wss;
    this.options = options;
    this.#recommendedShards = options.shards;
    this.port = (server.address() as AddressInfo).port;
    this.url = `ws://127.0.0.1:${this.port}${options.path}`;
    this.resumeUrl = options.resumeGatewayUrl ?? `ws://127.0.0.1:${this.port}/resume`;
    this.restUrl = `http://127.0.0.1:${this.port}/api/v10`;
    this.log = new GatewayLog(options.logDispatches);
    this.world = new World({ seed: options.seed, guilds: options.guilds });
    this.limits = new IdentifyLimits({
      maxConcurrency: options.maxConcurrency,
      total: options.sessionStartLimit,
      resetAfter: options.sessionStartResetAfter,
      interval: options.identifyInterval,
    });
    this.#context = {
      options,
      world: this.world,
      log: this.log,
      limits: this.limits,
      resumeUrl: this.resumeUrl,
      findSession: (id) => this.#sessions.get(id),
      openSession: (shard, intents, largeThreshold) => this.#openSession(shard, intents, largeThreshold),
      emit: (session, t, d, inGuild) => {
        if (receivesDispatch(session.intents, t, inGuild)) session.append(t, d);
      },
      takeReadyFault: (shard) => this.#takeReadyFault(shard),
      fullMemberListRequest: (guildId, now) => this.#fullMemberListRequest(guildId, now),
      refill: (connection) => this.#refill(connection),
      connectionClosed: (connection) => this.#connections.delete(connection.id),
    };
    server.on('request', (request, response) => this.#onRequest(request, response));
    server.on('upgrade', (request, socket: Socket, head: Buffer) => this.#onUpgrade(request, socket, head));
    if (typeof options.rate === 'number' && options.rate > 0) this.#timers.push(setInterval(() => this.#tick(), TRAFFIC_TICK_MS));
    this.#timers.push(setInterval(() => this.#sweep(), SWEEP_MS).unref());
  }

  /**
   * Starts a simulator listening on 127.0.0.1.
   *
   * @throws RangeError or TypeError naming a bad option; the listen error if the port is taken.
   */
  static async start(options: FakeGatewayOptions = {}): Promise<FakeGateway> {
    const resolved = resolveOptions(options);
    const server = createServer();
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_ACCEPTED_FRAME, perMessageDeflate: false });
    server.listen(resolved.port, '127.0.0.1');
    await once(server, 'listening');
    return new FakeGateway(server, wss, resolved);
  }

  /**
   * Sends a dispatch to every live or resumable session of `shardId`, numbered like any
   * other and filtered by each session's intents (an event with a `guild_id` counts as a
   * guild event). Returns the sequence numbers given out, one per session that took it.
   *
   * @example
   * gateway.dispatch(0, 'MESSAGE_CREATE', { id: '1', channel_id: '2', guild_id: '3', content: 'hi' });
   */
  dispatch(shardId: number, t: string, d: unknown): number[] {
    const inGuild = typeof d === 'object' && d !== null && 'guild_id' in d;
    const sequences: number[] = [];
    for (const session of this.#sessions.values()) {
      if (session.shard !== shardId || !session.resumable()) continue;
      if (receivesDispatch(session.intents, t, inGuild)) sequences.push(session.append(t, d));
    }
    return sequences;
  }

  /**
   * Inflicts a fault. Live-connection faults hit the connections `target` names (every
   * live connection without a target) and return how many were hit; HELLO faults arm the
   * next new connection and READY faults the next IDENTIFY of `target.shard` (any shard
   * without one), returning 1.
   *
   * @throws TypeError for a malformed fault, naming the bad field.
   * @example
   * gateway.inject({ type: 'drop' }, { shard: 3 });
   * gateway.inject({ type: 'withhold-ready' }, { shard: 0 });
   */
  inject(fault: Fault, target: FaultTarget = {}): number {
    validateFault(fault);
    switch (fault.type) {
      case 'delay-hello':
      case 'withhold-hello':
        this.#helloFaults.push(fault);
        return 1;
      case 'delay-ready':
      case 'withhold-ready':
        this.#readyFaults.push({ shard: target.shard ?? null, fault });
        return 1;
      default: {
        let hit = 0;
        for (const connection of [...this.#connections.values()]) {
          if (target.connection !== undefined && connection.id !== target.connection) continue;
          if (target.shard !== undefined && connection.shard !== target.shard) continue;
          this.log.add({ type: 'fault', connection: connection.id, shard: connection.shard, fault });
          connection.apply(fault);
          hit += 1;
        }
        return hit;
      }
    }
  }

  /**
   * Starts seeded random faults on identified connections until stopped or closed.
   *
   * @throws RangeError when `meanIntervalMs` is not positive.
   * @example
   * const chaos = gateway.chaos({ seed: 9, meanIntervalMs: 500 });
   * // ... run the client ...
   * chaos.stop();
   */
  chaos(options: ChaosOptions): ChaosHandle {
    if (!(options.meanIntervalMs > 0)) throw new RangeError(`chaos meanIntervalMs must be positive, got ${options.meanIntervalMs}`);
    const rng = new Random(options.seed);
    const weights = options.weights ?? DEFAULT_CHAOS_WEIGHTS;
    let timer: NodeJS.Timeout | null = null;
    const schedule = (): void => {
      timer = setTimeout(strike, -Math.log(1 - rng.next()) * options.meanIntervalMs);
    };
    const strike = (): void => {
      // The fault is drawn before the victim so the sequence of faults depends on the seed alone.
      const fault = randomFault(rng, weights);
      const identified = [...this.#connections.values()].filter((connection) => connection.streaming);
      if (identified.length > 0) {
        const victim = rng.pick(identified);
        this.inject(fault, fault.type.endsWith('-ready') ? { shard: victim.shard ?? 0 } : { connection: victim.id });
      }
      schedule();
    };
    const handle: ChaosHandle = {
      stop: () => {
        if (timer) clearTimeout(timer);
        this.#chaos.delete(handle);
      },
    };
    this.#chaos.add(handle);
    schedule();
    return handle;
  }

  /**
   * Changes the shard count `/gateway/bot` recommends (initially the `shards` option), as
   * Discord raises it while a bot grows. Sessions of any total keep working.
   *
   * @throws RangeError unless `shards` is an integer of at least 1.
   * @example
   * gateway.setRecommendedShards(8); // a fleet of 4 that checks /gateway/bot now reshards
   */
  setRecommendedShards(shards: number): void {
    if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`recommended shards must be an integer of at least 1, got ${String(shards)}`);
    this.#recommendedShards = shards;
  }

  /** Every session not yet forgotten (ended and expired ones are dropped within seconds). */
  sessions(): SessionInfo[] {
    return [...this.#sessions.values()].map((session) => ({
      id: session.id,
      shard: session.shard,
      numShards: session.numShards,
      intents: session.intents,
      sequence: session.sequence,
      state: session.state,
      presence: session.presence,
    }));
  }

  /** The open connections. */
  connections(): ConnectionInfo[] {
    return [...this.#connections.values()].map((connection) => ({
      id: connection.id,
      path: connection.path,
      shard: connection.shard,
      session: connection.session?.id ?? null,
    }));
  }

  /** Stops serving: ends chaos and traffic, drops every connection, closes the port. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const handle of [...this.#chaos]) handle.stop();
      for (const timer of this.#timers) clearInterval(timer);
      for (const connection of [...this.#connections.values()]) connection.drop();
      this.#wss.close();
      this.#server.closeAllConnections();
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    })();
    return this.#closing;
  }

  /** Closes the simulator when used with `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #openSession(shard: [number, number], intents: number, largeThreshold: number): SimulatedSession {
    const session = new SimulatedSession({
      shard: shard[0],
      numShards: shard[1],
      intents,
      largeThreshold,
      seed: (this.options.seed * 7919 + ++this.#sessionSeeds) >>> 0,
      replayLimit: this.options.replayLimit,
      firstSequence: this.options.firstSequence,
    });
    this.#sessions.set(session.id, session);
    this.#totals.set(session.numShards, (this.#totals.get(session.numShards) ?? 0) + 1);
    return session;
  }

  #takeReadyFault(shard: number): Fault | undefined {
    const index = this.#readyFaults.findIndex((armed) => armed.shard === null || armed.shard === shard);
    if (index < 0) return undefined;
    return this.#readyFaults.splice(index, 1)[0]?.fault;
  }

  /** When the guild's full member list was last requested bot-wide; records now if the window passed. */
  #fullMemberListRequest(guildId: string, now: number): number | undefined {
    const last = this.#fullListRequests.get(guildId);
    if (last === undefined || now - last >= 30_000) this.#fullListRequests.set(guildId, now);
    return last;
  }

  /** Keeps `'max'` traffic flowing while the client reads. */
  #refill(connection: GatewayConnection): void {
    if (this.options.rate !== 'max') return;
    while (connection.streaming && connection.inFlight < MAX_IN_FLIGHT) {
      if (!this.#generate(connection.session as SimulatedSession)) return;
    }
  }

  #generate(session: SimulatedSession): boolean {
    const messageContent = (session.intents & GatewayIntentBits.MessageContent) !== 0;
    const event = this.world.nextDispatch(
      session.shard,
      session.numShards,
      session.rng,
      (t, inGuild) => receivesDispatch(session.intents, t, inGuild),
      messageContent,
    );
    if (event === null) return false;
    const world = ++this.#worldEvents;
    session.append(event.t, event.d, world);
    const sessions = [session.id];
    // A bot running two shard totals at once (resharding) gets each event in both sets.
    if (this.#totals.size > 1) {
      for (const other of this.#sessions.values()) {
        if (other.numShards === session.numShards || !other.resumable()) continue;
        if (!other.owns(event.guildId) || !receivesDispatch(other.intents, event.t, event.guildId !== null)) continue;
        other.append(event.t, event.d, world);
        sessions.push(other.id);
      }
    }
    if (this.log.recordDispatches) this.log.add({ type: 'world', connection: 0, id: world, t: event.t, guild: event.guildId, sessions });
    return true;
  }

  /** Rate-driven traffic: sessions keep producing while detached, so a resume has something to replay. */
  #tick(): void {
    const now = Date.now();
    const elapsed = now - this.#lastTick;
    this.#lastTick = now;
    const perSession = ((this.options.rate as number) * elapsed) / 1000;
    for (const session of this.#sessions.values()) {
      if (!session.resumable(now)) continue;
      session.trafficCredit += perSession;
      while (session.trafficCredit >= 1) {
        session.trafficCredit -= 1;
        if (!this.#generate(session)) {
          session.trafficCredit = 0;
          break;
        }
      }
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, session] of this.#sessions) {
      if (session.resumable(now)) continue;
      this.#sessions.delete(id);
      const left = (this.#totals.get(session.numShards) ?? 1) - 1;
      if (left === 0) this.#totals.delete(session.numShards);
      else this.#totals.set(session.numShards, left);
    }
    for (const [guildId, at] of this.#fullListRequests) if (now - at >= 30_000) this.#fullListRequests.delete(guildId);
  }

  #onRequest(request: IncomingMessage, response: ServerResponse): void {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const reply = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'GET') return reply(405, { message: '405: Method Not Allowed', code: 0 });
    if (path === '/api/v10/gateway') return reply(200, { url: this.url });
    if (path === '/api/v10/gateway/bot') {
      if (!this.#authorized(request.headers.authorization)) return reply(401, { message: '401: Unauthorized', code: 0 });
      return reply(200, { url: this.url, shards: this.#recommendedShards, session_start_limit: this.limits.sessionStartLimit() });
    }
    reply(404, { message: '404: Not Found', code: 0 });
  }

  #authorized(header: string | undefined): boolean {
    if (header === undefined || !header.startsWith('Bot ')) return false;
    const token = header.slice(4);
    return this.options.token === null ? token.length > 0 : token === this.options.token;
  }

  #onUpgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '');
    if (path !== this.options.path && path !== '/resume') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#onConnection(ws, path === '/resume' ? 'resume' : 'gateway', request));
  }

  #onConnection(ws: WebSocket, path: 'gateway' | 'resume', request: IncomingMessage): void {
    const id = this.#nextConnectionId++;
    const target = request.url ?? '/';
    const query = new URL(target, 'http://localhost').searchParams;
    const compress = query.get('compress') ?? 'none';
    const userAgent = request.headers['user-agent'] ?? null;
    this.log.add({ type: 'connect', connection: id, path, compress, target, userAgent });
    const refuse = (code: number, reason: string): void => {
      this.log.add({ type: 'close', connection: id, shard: null, by: 'server', code, reason });
      ws.close(code, reason);
    };
    if (this.options.requireUserAgent && userAgent === null) return refuse(4002, 'Decode error: the handshake had no User-Agent header');
    if (this.options.checkVersion && query.get('v') !== '10') return refuse(4012, `Invalid API version: v=${query.get('v') ?? '(missing)'}; only 10 is served`);
    const encoding = query.get('encoding') ?? 'json';
    if (encoding !== 'json') return refuse(4002, `Decode error: encoding=${encoding} is not served by FakeGateway (json only)`);
    if (compress !== 'none' && compress !== 'zlib-stream' && compress !== 'zstd-stream') {
      return refuse(4000, `Unknown error: compress=${compress} is not zlib-stream or zstd-stream`);
    }
    let transport: Transport;
    try {
      transport = new Transport(ws, compress);
    } catch (error) {
      return refuse(4000, (error as Error).message);
    }
    const connection = new GatewayConnection(id, path, ws, transport, this.#context);
    this.#connections.set(id, connection);
    const helloFault = this.#helloFaults.shift();
    if (helloFault) this.log.add({ type: 'fault', connection: id, shard: null, fault: helloFault });
    const withheld = !this.options.hello || helloFault?.type === 'withhold-hello';
    connection.start(withheld ? null : helloFault?.type === 'delay-hello' ? helloFault.ms : 0);
  }
}
