/**
 * One readable line per simulator log entry, for the live log of `gloaming demo` and
 * `gloaming fake-gateway --log`.
 */
import type { LogEntry } from '../testing/log.js';

const shardOf = (shard: number | null): string => (shard === null ? '' : ` shard ${shard}`);

/** A short human line for an entry, or null for entries too frequent to print one by one. */
export function formatEntry(entry: LogEntry): string | null {
  const time = new Date(entry.time).toISOString().slice(11, 23);
  const where = `#${entry.connection}`;
  switch (entry.type) {
    case 'connect':
      return `${time} ${where} connect via ${entry.path} url, compress=${entry.compress}`;
    case 'hello':
      return `${time} ${where} hello, heartbeat every ${entry.heartbeatInterval} ms`;
    case 'identify':
      return `${time} ${where} identify shard [${entry.shard}, ${entry.numShards}] intents ${entry.intents} -> session ${entry.session.slice(0, 8)}`;
    case 'identify-rejected':
      return `${time} ${where} identify of shard ${entry.shard} rejected: ${entry.reason}`;
    case 'resume':
      return `${time} ${where} resume shard ${entry.shard} session ${entry.session.slice(0, 8)} from ${entry.sequence}, replayed ${entry.replayed}`;
    case 'resume-rejected':
      return `${time} ${where} resume of session ${entry.session.slice(0, 8)} rejected: ${entry.reason}`;
    case 'command':
      return `${time} ${where}${shardOf(entry.shard)} command op ${entry.op}`;
    case 'fault':
      return `${time} ${where}${shardOf(entry.shard)} fault ${JSON.stringify(entry.fault)}`;
    case 'close':
      return `${time} ${where}${shardOf(entry.shard)} closed by ${entry.by}: ${entry.code} ${entry.reason}`;
    case 'heartbeat':
    case 'dispatch':
    case 'world':
      return null;
  }
}
