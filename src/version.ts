/**
 * gloaming's version and the User-Agent it sends: some gateways that are not Discord close
 * a websocket handshake without one (Spacebar with 4002), and Discord's REST asks for one.
 */

/** This package's version; a test keeps it equal to package.json's. */
export const VERSION = '0.1.0';

/**
 * The `User-Agent` a shard sends on the gateway handshake and on `/gateway/bot` unless the
 * config's `userAgent` overrides it, in the `DiscordBot (url, version)` form Discord's docs ask for.
 */
export const DEFAULT_USER_AGENT = `DiscordBot (gloaming, ${VERSION}) Node.js/${process.version}`;
