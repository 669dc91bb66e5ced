/**
 * `gloaming/testing`: FakeGateway, a faithful Discord gateway simulator for testing
 * gateway clients and bots offline.
 */
/// <reference types="node" preserve="true" />
export { FakeGateway } from './fake-gateway.js';
export type { ChaosHandle, ConnectionInfo, SessionInfo } from './fake-gateway.js';
export type { FakeGatewayOptions, FakeGatewayPreset, ResolvedOptions } from './options.js';
export { DEFAULT_CHAOS_WEIGHTS, SESSION_ENDING_CLOSE_CODES, SURVIVABLE_CLOSE_CODES } from './faults.js';
export type { ChaosOptions, Fault, FaultTarget, FaultType, RandomFaultType } from './faults.js';
export { GatewayLog } from './log.js';
export type {
  CloseEntry,
  CommandEntry,
  ConnectEntry,
  DispatchEntry,
  FaultEntry,
  GatewayLogEvents,
  HeartbeatEntry,
  HelloEntry,
  IdentifyEntry,
  IdentifyRejectedEntry,
  LogEntry,
  LogEntryOf,
  NewLogEntry,
  ResumeEntry,
  ResumeRejectedEntry,
  WorldEntry,
} from './log.js';
export { IdentifyLimits } from './identify-limits.js';
export type { IdentifyVerdict, SessionStartLimit } from './identify-limits.js';
export { zstdAvailable, ZLIB_SUFFIX } from './compression.js';
export type { TransportCompression } from './compression.js';
export { World } from './world.js';
export type { MemberQuery, SimulatedDispatch, WorldOptions } from './world.js';
export { Random } from './random.js';
