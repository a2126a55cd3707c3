import type { Socket } from 'node:net';

/**
 * Write `bytes` bytes of `chunk` (repeated, the last one cut short) to `socket`, waiting on
 * 'drain' whenever the socket asks, then end it: a bulk sender that respects backpressure.
 */
export function sendBytes(socket: Socket, bytes: number, chunk: Buffer): void {
  let left = bytes;
  const pump = (): void => {
    while (left > 0) {
      const size = Math.min(left, chunk.length);
      left -= size;
      if (!socket.write(size === chunk.length ? chunk : chunk.subarray(0, size))) return void socket.once('drain', pump);
    }
    socket.end();
  };
  pump();
}
