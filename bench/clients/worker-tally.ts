/** What `worker-handler.ts` reports to `gloaming-workers-handler.ts` over a BroadcastChannel. */
export const TALLY_CHANNEL = 'gloaming-bench-tally';

/** A shard's READY, or its count once its end marker arrived. */
export type HandlerTally = { kind: 'ready'; shard: number } | { kind: 'done'; shard: number; events: number; seqErrors: number };
