/**
 * gloaming: a Discord Gateway client for TypeScript on Node.js. This entry point
 * exports the public surface only; the gateway simulator lives in `gloaming/testing`.
 */
/// <reference types="node" preserve="true" />
export { Shard } from './shard/shard.js';
export type { ShardState } from './shard/shard.js';
export type { ShardObserver } from './shard/observer.js';
export type { ShardCountsData } from './shard/counters.js';
export { LOG_LEVELS } from './observability/logger.js';
export type { Logger, LogLevel, LogMethod } from './observability/logger.js';
export { shardLogObserver } from './observability/log-observer.js';
export { shardStats } from './observability/stats.js';
export type { ShardStats } from './observability/stats.js';
export { ShardId } from './shard/shard-id.js';
export { Session } from './shard/session.js';
export type { SessionJSON } from './shard/session.js';
export { CloseFrame } from './shard/close-codes.js';
export { ShardError } from './shard/errors.js';
export type { ShardErrorCode, ShardErrorKind } from './shard/errors.js';
export type { GatewayCloseEvent, ShardErrorEvent, ShardEvent, ShardMessage } from './shard/events.js';
export { Latency } from './shard/latency.js';
export { CommandRatelimiter, commandsPerPeriod } from './shard/ratelimiter.js';
export {
  MAX_PAYLOAD_BYTES,
  requestChannelInfo,
  requestGuildMembers,
  requestSoundboardSounds,
  serializeCommand,
  updatePresence,
  updateVoiceState,
} from './shard/commands.js';
export type { GatewayCommand, PresenceInput } from './shard/commands.js';
export { backoffDelay, decideReconnect, describeCause } from './shard/disconnect.js';
export type { BackoffOptions, DisconnectCause, ReconnectDecision, ReconnectHistory } from './shard/disconnect.js';
export { ConfigError, Token, resolveShardConfig } from './config.js';
export type { ResolvedBackoff, ResolvedShardConfig, ResolvedTimeouts, ShardConfig } from './config.js';
export { shardConfigFromData, shardConfigToData } from './config-data.js';
export type { ShardConfigData } from './config-data.js';
export { InMemoryQueue } from './queue/in-memory-queue.js';
export { IDENTIFY_INTERVAL_MS, IDENTIFY_MARGIN_MS } from './queue/queue.js';
export type { Queue } from './queue/queue.js';
export { InflatedSizeError, zstdSupported } from './codec/inflate.js';
export type { Compression, InflaterMetrics } from './codec/inflate.js';
export { ALL_INTENTS, DISPATCH_INTENTS, PRIVILEGED_INTENTS, receivesDispatch } from './intents.js';
export type { DispatchIntents } from './intents.js';
export { GatewayDispatchEvents, GatewayIntentBits as Intents } from 'discord-api-types/v10';
export { eventTypesForIntents, isDispatchEventName } from './codec/event-types.js';
export type { DispatchEventName } from './codec/event-types.js';
export { closeAll, createBucket, createRange, createRecommended } from './fleet/create.js';
export { resumeSessions, sessionsFromJSON, sessionsToJSON } from './fleet/sessions.js';
export { InMemorySessionStore, JsonFileSessionStore, mergeSessions } from './sessions/store.js';
export type { SessionStore } from './sessions/store.js';
export { DEFAULT_SAVE_INTERVAL_MS, keepSessions } from './sessions/saver.js';
export type { SessionKeeper } from './sessions/saver.js';
export type { FleetSessionsJSON } from './fleet/sessions.js';
export { planBucket, planRange, planRecommended } from './fleet/plan.js';
export type { PerShardConfig, RecommendedConfig, ShardPlan } from './fleet/plan.js';
export { GatewayBotError, fetchGatewayBot } from './fleet/gateway-bot.js';
export type { GatewayBotErrorKind } from './fleet/gateway-bot.js';
export { ShardEventStream, ShardMessageStream } from './fleet/merged-stream.js';
export { ShardFleet } from './fleet/shard-fleet.js';
export type { ShardFleetOptions } from './fleet/shard-fleet.js';
export { ReshardError } from './fleet/resharding.js';
export type { ReshardErrorKind, ReshardOptions, ReshardProgress, ReshardReport } from './fleet/resharding.js';
export { WorkerFleet } from './workers/worker-fleet.js';
export type { WorkerFleetItem, WorkerFleetMessageItem, WorkerFleetOptions, WorkerFleetShards, WorkerFleetStats, WorkerInfo } from './workers/worker-fleet.js';
export { WorkerShardHandle } from './workers/handle.js';
export type { WorkerModule } from './workers/module.js';
export type { LatencySnapshot } from './workers/protocol.js';
export type { EventSource, MessageSource, ShardEventItem, ShardMessageItem, WantedMessageSource } from './fleet/merged-stream.js';
