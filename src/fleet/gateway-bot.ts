/**
 * Discord's `GET /gateway/bot`: the recommended shard count, the gateway URL and the
 * identify budget, with three distinct errors for the three ways it fails.
 */
import type { APIGatewayBotInfo } from 'discord-api-types/v10';
import { DEFAULT_USER_AGENT } from '../version.js';

/** How `/gateway/bot` failed: a rejected token, no answer at all, or an answer that makes no sense. */
export type GatewayBotErrorKind = 'Unauthorized' | 'Network' | 'Malformed' | 'Status';

/**
 * A failed `/gateway/bot` request. Never contains the token.
 *
 * @example
 * try { await createRecommended(config); } catch (error) {
 *   if (error instanceof GatewayBotError && error.kind === 'Unauthorized') console.error('check DISCORD_TOKEN');
 * }
 */
export class GatewayBotError extends Error {
  /** Always `'GatewayBotError'`. */
  override readonly name = 'GatewayBotError';
  constructor(
    /** Why it failed: `Unauthorized`, `Network`, `Malformed` or `Status`. */
    readonly kind: GatewayBotErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const isCount = (value: unknown, min: number): value is number => Number.isInteger(value) && (value as number) >= min;

/**
 * Fetches and validates `/gateway/bot`. `token` is the bare token (without `Bot `).
 *
 * @throws GatewayBotError (`Unauthorized` for 401, `Status` for another non-2xx status,
 *   `Network` when the request fails, `Malformed` for a body of the wrong shape).
 * @example
 * const info = await fetchGatewayBot('https://discord.com/api/v10', token.reveal());
 * console.log(info.shards, info.session_start_limit.max_concurrency);
 */
export async function fetchGatewayBot(restUrl: string, token: string, options: { timeoutMs?: number; userAgent?: string } = {}): Promise<APIGatewayBotInfo> {
  const { timeoutMs = 15_000, userAgent = DEFAULT_USER_AGENT } = options;
  const url = `${restUrl.replace(/\/+$/, '')}/gateway/bot`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bot ${token}`, 'user-agent': userAgent },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    throw new GatewayBotError('Network', `GET ${url} failed: ${reason}`, { cause: error });
  }
  if (response.status === 401) throw new GatewayBotError('Unauthorized', `GET ${url} answered 401: the token was rejected`);
  if (!response.ok) throw new GatewayBotError('Status', `GET ${url} answered ${response.status} ${response.statusText}`);
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw new GatewayBotError('Malformed', `GET ${url} answered with a body that is not JSON`, { cause: error });
  }
  const info = body as Partial<APIGatewayBotInfo> | null;
  const limit = info?.session_start_limit;
  let gatewayUrl: URL | null;
  try {
    gatewayUrl = typeof info?.url === 'string' ? new URL(info.url) : null;
  } catch {
    gatewayUrl = null;
  }
  if (
    gatewayUrl === null ||
    (gatewayUrl.protocol !== 'wss:' && gatewayUrl.protocol !== 'ws:') ||
    !isCount(info?.shards, 1) ||
    limit === undefined ||
    !isCount(limit.total, 0) ||
    !isCount(limit.remaining, 0) ||
    !isCount(limit.reset_after, 0) ||
    !isCount(limit.max_concurrency, 1)
  ) {
    throw new GatewayBotError('Malformed', `GET ${url} answered ${JSON.stringify(body).slice(0, 200)}, not {url, shards, session_start_limit}`);
  }
  return info as APIGatewayBotInfo;
}
