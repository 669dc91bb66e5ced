/**
 * Where a shard may send its token: the rule that keeps it off cleartext connections to
 * other machines, and the connect URL with the query the shard writes itself.
 */

/** Query parameters the shard sets on every connect URL. */
export const SHARD_QUERY_PARAMETERS = ['v', 'encoding', 'compress'] as const;

/**
 * Whether `hostname` (as `URL` writes it) is this machine: `localhost`, 127.0.0.0/8 (the URL
 * parser has already normalised `127.1` and the like) or `[::1]`.
 *
 * @example
 * isLoopbackHost(new URL('ws://127.0.0.1:8080').hostname); // true
 * isLoopbackHost(new URL('ws://example.com').hostname);    // false
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Why the token must not go to `url`, or null when it may: the encrypted protocol (`wss:`,
 * or `https:` for REST) goes anywhere; the cleartext one (`ws:`, `http:`) only to loopback
 * unless `allowInsecureUrls`; any other protocol nowhere.
 *
 * @example
 * tokenUrlProblem(new URL('ws://example.com'), 'ws:', 'wss:', false);
 * // 'ws: to example.com would carry the token unencrypted (use wss:, a loopback host, or set allowInsecureUrls)'
 */
export function tokenUrlProblem(url: URL, cleartext: 'ws:' | 'http:', secure: 'wss:' | 'https:', allowInsecureUrls: boolean): string | null {
  if (url.protocol === secure) return null;
  if (url.protocol !== cleartext) return `must be a ${secure} or ${cleartext} URL`;
  if (allowInsecureUrls || isLoopbackHost(url.hostname)) return null;
  return `${cleartext} to ${url.hostname} would carry the token unencrypted (use ${secure}, a loopback host, or set allowInsecureUrls)`;
}

/**
 * The URL to open: `base` as given (path and any other query kept) with `v=10`,
 * `encoding=json` and, when compressing, `compress` set; a fragment, which a websocket
 * URL may not have, is dropped.
 *
 * @example
 * connectUrl('ws://127.0.0.1:8080/gateway', 'zlib-stream');
 * // 'ws://127.0.0.1:8080/gateway?v=10&encoding=json&compress=zlib-stream'
 */
export function connectUrl(base: string, compression: string | null): string {
  const url = new URL(base);
  url.searchParams.set('v', '10');
  url.searchParams.set('encoding', 'json');
  if (compression !== null) url.searchParams.set('compress', compression);
  url.hash = '';
  return url.toString();
}
