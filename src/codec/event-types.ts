/**
 * Which dispatch events a consumer wants: a set of event names, with a helper that builds
 * the set an intents value can produce. The shard skips unwanted dispatches in
 * `nextEvent` (they still count for the session's sequence and reach `nextMessage`).
 */
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { DISPATCH_INTENTS } from '../intents.js';

/** A dispatch event name, as the enum or its string. */
export type DispatchEventName = GatewayDispatchEvents | `${GatewayDispatchEvents}`;

const ALL_DISPATCHES: ReadonlySet<string> = new Set(Object.values(GatewayDispatchEvents));

/** Whether `name` is one of the dispatch event names discord-api-types knows. */
export function isDispatchEventName(name: unknown): name is DispatchEventName {
  return typeof name === 'string' && ALL_DISPATCHES.has(name);
}

/**
 * The dispatch events a session with `intents` can receive: those of each intent's group
 * plus the events that need no intent (READY, INTERACTION_CREATE, …).
 *
 * @example
 * const wanted = eventTypesForIntents(GatewayIntentBits.Guilds);
 * wanted.has(GatewayDispatchEvents.GuildCreate); // true
 * wanted.has(GatewayDispatchEvents.MessageCreate); // false
 */
export function eventTypesForIntents(intents: number): Set<GatewayDispatchEvents> {
  const names = new Set<GatewayDispatchEvents>();
  for (const [name, needed] of Object.entries(DISPATCH_INTENTS) as [GatewayDispatchEvents, { guild: number; direct: number }][]) {
    const always = needed.guild === 0 && needed.direct === 0;
    if (always || (intents & (needed.guild | needed.direct)) !== 0) names.add(name);
  }
  return names;
}
