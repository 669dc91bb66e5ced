/**
 * How a reshard reads a fleet's items: events (parsed) or messages (the JSON text as
 * received), whichever way the loop reads the fleet — local shards or worker handles alike.
 */
import { GatewayOpcodes } from 'discord-api-types/v10';
import { dispatchData } from '../codec/dispatch-data.js';
import { peekPayload } from '../codec/peek.js';
import type { ShardEvent, ShardMessage } from '../shard/events.js';
import type { ShardId } from '../shard/shard-id.js';
import type { ReshardItems } from './resharding.js';

/** An item of a fleet of shards (or handles) `S`, read either way. */
export type FleetItem<S> = { readonly shard: S; readonly event: ShardEvent } | { readonly shard: S; readonly message: ShardMessage };

const DISPATCH: number = GatewayOpcodes.Dispatch;

/** The envelope of a text item: from the peek, else (another key order) a full parse. */
function envelope(text: string): { op: unknown; t?: unknown; d?: unknown } | null {
  const head = peekPayload(text);
  if (head !== null) return head;
  try {
    return JSON.parse(text) as { op: unknown; t?: unknown; d?: unknown };
  } catch {
    return null; // not JSON: not an event to pair
  }
}

/** The `d` of a text item; null for text that is not JSON (it is handed on as it is, unpaired). */
function parsedData(text: string): unknown {
  try {
    return (JSON.parse(text) as { d?: unknown }).d;
  } catch {
    return null;
  }
}

/** How either kind of item is read, for any shard type (only `id` is looked at). */
const FLEET_ITEMS: ReshardItems<{ readonly id: ShardId }, FleetItem<{ readonly id: ShardId }>> = {
  shard: (item) => item.shard,
  number: (shard) => shard.id.number,
  t: (item) => {
    if ('event' in item) return item.event.op === GatewayOpcodes.Dispatch ? item.event.t : null;
    if (item.message.type !== 'text') return null;
    const head = envelope(item.message.text);
    return head?.op === DISPATCH && typeof head.t === 'string' ? head.t : null;
  },
  data: (item) => ('event' in item ? (item.event as { d: unknown }).d : parsedData((item.message as { text: string }).text)),
  dataText: (item) => {
    if ('event' in item) return JSON.stringify((item.event as { d: unknown }).d);
    const text = (item.message as { text: string }).text;
    return dispatchData(text) ?? JSON.stringify(parsedData(text)) ?? text;
  },
  fatal: (item) => {
    if ('event' in item) return item.event.op === 'error' && item.event.d.kind === 'FatallyClosed' ? item.event.d : null;
    return item.message.type === 'error' && item.message.error.kind === 'FatallyClosed' ? item.message.error : null;
  },
};

/** The item reader for a fleet's own shard type. @internal */
export const fleetItems = <S extends { readonly id: ShardId }>(): ReshardItems<S, FleetItem<S>> => FLEET_ITEMS as ReshardItems<S, FleetItem<S>>;
