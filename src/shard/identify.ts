/**
 * The IDENTIFY a shard sends, built in one place: the shard sends it, and the config checks
 * the largest one it could build against Discord's 4096-byte payload limit.
 */
import { GatewayOpcodes } from 'discord-api-types/v10';
import type { GatewayIdentifyData, GatewayIdentifyProperties, GatewayPresenceUpdateData } from 'discord-api-types/v10';

/** The parts of a shard config that IDENTIFY carries besides the token. */
export interface IdentifyOptions {
  readonly intents: number;
  readonly identifyProperties: GatewayIdentifyProperties;
  readonly largeThreshold: number;
  readonly presence: GatewayPresenceUpdateData | null;
}

/**
 * The IDENTIFY payload (op 2) for the bare `token` and `shard` (`[id, total]`); `compress`
 * is left out (Discord's default, false: gloaming uses transport compression).
 *
 * @example
 * JSON.stringify(identifyPayload(token.reveal(), config, [0, 1]));
 */
export function identifyPayload(token: string, options: IdentifyOptions, shard: readonly [number, number]): { op: GatewayOpcodes.Identify; d: GatewayIdentifyData } {
  return {
    op: GatewayOpcodes.Identify,
    d: {
      token,
      properties: options.identifyProperties,
      intents: options.intents,
      shard: [shard[0], shard[1]],
      large_threshold: options.largeThreshold,
      ...(options.presence === null ? {} : { presence: options.presence }),
    },
  };
}
