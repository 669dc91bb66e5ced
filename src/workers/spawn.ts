/**
 * Starting a WorkerFleet's worker thread. The published package starts the compiled entry;
 * run from TypeScript sources (or given a TypeScript module), the worker first registers
 * tsx, since worker threads do not inherit the main thread's loader hooks.
 */
import { Worker } from 'node:worker_threads';
import type { ResourceLimits } from 'node:worker_threads';
import { ConfigError } from '../config.js';
import type { WorkerInit } from './protocol.js';

const isTypeScript = (url: string): boolean => /\.[cm]?ts$/.test(new URL(url).pathname);

/**
 * A new worker thread running the fleet's worker side with `init`.
 *
 * @throws ConfigError `module` when TypeScript needs loading and tsx is not installed.
 */
export function startWorker(init: WorkerInit, resourceLimits: ResourceLimits | undefined): Worker {
  const entry = new URL(isTypeScript(import.meta.url) ? './worker-entry.ts' : './worker-entry.js', import.meta.url);
  const options = { workerData: init, resourceLimits, name: `gloaming worker ${init.index}` };
  if (!isTypeScript(entry.href) && (init.module === null || !isTypeScript(init.module))) return new Worker(entry, options);
  let tsx: string;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch {
    throw new ConfigError('module', `${init.module ?? entry.href} is TypeScript, which a worker thread can load only with tsx installed; install tsx or pass the compiled .js`);
  }
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
