/**
 * Shape checks for what the shard acts on itself (HELLO, READY and the sequence of every
 * dispatch), so a malformed or hostile server message becomes an error item instead of a
 * crash, a heartbeat storm or a corrupt resume.
 */

/** The longest delay `setTimeout` honours; a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const describe = (value: unknown): string => (value === undefined ? 'missing' : JSON.stringify(value).slice(0, 40));

/**
 * Whether `s` can be a dispatch's sequence number: a non-negative integer that resumes
 * exactly. Discord counts from 1; other gateways (Spacebar, proxies) from 0 or anywhere.
 */
export function isSequence(s: unknown): s is number {
  return Number.isSafeInteger(s) && (s as number) >= 0;
}

/**
 * Why a HELLO's `d` cannot be used, or null when it can.
 *
 * @example
 * helloProblem({ heartbeat_interval: 41250 }); // null
 * helloProblem({}); // 'HELLO heartbeat_interval is missing, not a number of ms from 1 to 2147483647'
 */
export function helloProblem(d: unknown): string | null {
  const interval = isObject(d) ? d.heartbeat_interval : undefined;
  if (typeof interval === 'number' && interval >= 1 && interval <= MAX_TIMER_MS) return null;
  return `HELLO heartbeat_interval is ${describe(interval)}, not a number of ms from 1 to ${MAX_TIMER_MS}`;
}

/**
 * Why a READY (its `s` and `d`) cannot start a session, or null when it can. Only what a
 * resume needs is required: `resume_gateway_url`, `shard` and `application` may be absent.
 *
 * @example
 * readyProblem(1, { session_id: 'abc', resume_gateway_url: 'wss://gateway.discord.gg' }); // null
 * readyProblem(0, { session_id: 'abc' }); // null
 */
export function readyProblem(s: unknown, d: unknown): string | null {
  if (!isSequence(s)) return `READY s is ${describe(s)}, not a non-negative integer`;
  if (!isObject(d)) return `READY d is ${describe(d)}, not an object`;
  if (typeof d.session_id !== 'string' || d.session_id.length === 0) return `READY session_id is ${describe(d.session_id)}, not a string`;
  if (d.resume_gateway_url !== undefined && typeof d.resume_gateway_url !== 'string') {
    return `READY resume_gateway_url is ${describe(d.resume_gateway_url)}, not a string`;
  }
  return null;
}
