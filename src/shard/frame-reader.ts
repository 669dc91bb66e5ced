/**
 * A shorter receive path for a `ws` client socket's binary messages. `ws` parses every
 * frame through a Writable stream and allocates several Buffer views per frame; for
 * Discord's compressed traffic (one small binary frame per message, hundreds per socket
 * read) that costs about a microsecond per message. After the handshake this reader takes
 * the socket's bytes itself: whole, unfragmented, unmasked binary frames within the size
 * limit go straight to `onBinary`; every other frame (control frames, text, fragments) is
 * written, byte for byte, to `ws`'s own receiver, which handles it as it always would
 * (pongs, the close handshake, UTF-8 checks) and emits any message on the socket. Anything
 * `ws` would refuse (a mask, RSV bits, an oversized length) hands the rest of the stream
 * to `ws` unread, so its error and close behaviour are unchanged.
 */
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type WebSocket from 'ws';

/** The parts of ws 8's internals this module drives (`ws` is pinned to an exact version). */
interface WsInternals {
  _socket: Socket;
  _receiver: Writable;
}

/** FIN set, RSV clear, opcode 2: a whole binary message in one frame. */
const WHOLE_BINARY = 0x82;
const MASKED = 0x80;
const FIN = 0x80;
const OPCODE = 0x0f;
const CONTINUATION = 0x0;
const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;

/**
 * Takes over reading `socket` (call it on 'open', before any data arrived).
 *
 * @param maxPayload - the socket's `maxPayload`; larger frames are left to `ws`, which refuses them.
 * @param onBinary - called with each whole binary message, synchronously and in order with
 *   the socket's own 'message' events for the frames `ws` still parses.
 */
export function readBinaryFrames(socket: WebSocket, maxPayload: number, onBinary: (data: Buffer) => void): void {
  const { _socket: raw, _receiver: receiver } = socket as unknown as WsInternals;
  const wsOnData = raw.listeners('data') as ((chunk: Buffer) => void)[];
  raw.removeAllListeners('data');
  /** Bytes of an incomplete frame, and how many its frame (or header) needs in all. */
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let needed = 0;
  /** Inside a fragmented message that `ws` is assembling: every frame goes to it until it ends. */
  let fragmented = false;
  /** Everything from here on is `ws`'s (after a close frame or a frame it will refuse). */
  let handedOver = false;

  const handOver = (rest: Buffer): void => {
    handedOver = true;
    raw.removeListener('data', onData);
    for (const listener of wsOnData) raw.on('data', listener);
    if (rest.length > 0) for (const listener of wsOnData) listener.call(raw, rest);
  };

  // As ws's own 'data' listener does: a receiver that is behind pauses the socket until it drains.
  const forward = (frame: Buffer): void => {
    if (!receiver.write(frame)) raw.pause();
  };

  function onData(chunk: Buffer): void {
    let rest = chunk;
    // A frame (or header) begun in an earlier read is completed from the front of this one,
    // copying only the bytes it needs.
    while (pendingBytes > 0 && !handedOver) {
      if (pendingBytes + rest.length < needed) {
        pending.push(rest);
        pendingBytes += rest.length;
        return;
      }
      const take = needed - pendingBytes;
      pending.push(rest.subarray(0, take));
      const head = Buffer.concat(pending, needed);
      pending = [];
      pendingBytes = 0;
      rest = rest.subarray(take);
      readFrames(head);
    }
    if (!handedOver) readFrames(rest);
    else if (rest.length > 0) for (const listener of wsOnData) listener.call(raw, rest);
  }

  /** Reads the whole frames in `data`, keeping an incomplete one at the end for the next read. */
  function readFrames(data: Buffer): void {
    let at = 0;
    while (at < data.length && !handedOver) {
      const available = data.length - at;
      if (available < 2) {
        needed = 2;
        break;
      }
      const first = data[at] as number;
      const second = data[at + 1] as number;
      if ((second & MASKED) !== 0) return handOver(data.subarray(at));
      let length = second & 0x7f;
      let header = 2;
      if (length === 126) {
        header = 4;
        if (available < header) {
          needed = header;
          break;
        }
        length = data.readUInt16BE(at + 2);
      } else if (length === 127) {
        header = 10;
        if (available < header) {
          needed = header;
          break;
        }
        if (data.readUInt32BE(at + 2) !== 0) return handOver(data.subarray(at));
        length = data.readUInt32BE(at + 6);
      }
      if (maxPayload > 0 && length > maxPayload) return handOver(data.subarray(at));
      if (available < header + length) {
        needed = header + length;
        break;
      }
      const end = at + header + length;
      if (first === WHOLE_BINARY && !fragmented) {
        onBinary(data.subarray(at + header, end));
      } else {
        const opcode = first & OPCODE;
        if (opcode === TEXT || opcode === BINARY) fragmented = (first & FIN) === 0;
        else if (opcode === CONTINUATION && (first & FIN) !== 0) fragmented = false;
        forward(data.subarray(at, end));
        if (opcode === CLOSE || receiver.errored !== null) return handOver(data.subarray(end));
      }
      at = end;
    }
    if (at < data.length && !handedOver) {
      // Kept as a copy, so that one partial frame does not pin the whole socket read.
      pending = [Buffer.from(data.subarray(at))];
      pendingBytes = data.length - at;
    }
  }

  raw.on('data', onData);
  // A closing socket's buffered bytes are read by ws itself, straight into its receiver: from
  // then on this reader stands aside, first handing over an incomplete frame it holds.
  raw.prependListener('close', () => {
    raw.removeListener('data', onData);
    if (handedOver) return;
    handedOver = true;
    if (pendingBytes > 0 && !raw.readableEnded && !receiver.writableEnded && receiver.errored === null) forward(Buffer.concat(pending, pendingBytes));
    pending = [];
    pendingBytes = 0;
  });
}
