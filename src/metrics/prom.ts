/**
 * prom-client, loaded once: it is an optional peer dependency, so its absence is an error that
 * says what to install rather than a bare module-not-found.
 */
import type * as PromClient from 'prom-client';

/**
 * The prom-client module.
 *
 * @internal
 */
export const prom: typeof PromClient = await import('prom-client').catch((error: unknown) => {
  throw new Error(`gloaming/metrics needs the package prom-client (npm install prom-client@15): ${(error as Error).message}`, { cause: error });
});
