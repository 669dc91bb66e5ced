/**
 * One scratch output buffer for every decompression context in the thread. A context runs
 * synchronously from input to returned output, so no two ever use it at once; sharing it
 * keeps an idle connection down to the decompressor's own state.
 */
export const scratch: Buffer = Buffer.allocUnsafe(256 * 1024);
