/**
 * gloaming: a Discord Gateway client for TypeScript on Node.js. This entry point
 * exports the public surface only; the gateway simulator lives in `gloaming/testing`.
 */
export { ALL_INTENTS, DISPATCH_INTENTS, PRIVILEGED_INTENTS, receivesDispatch } from './intents.js';
export type { DispatchIntents } from './intents.js';
