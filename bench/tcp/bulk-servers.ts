/**
 * Child entry for the TCP bench: a sink (reads everything, answers the byte count at the end)
 * and a source (sends `bytes` and ends). Prints `{ sink, source }` ports as JSON.
 *
 *   node dist/bench/tcp/bulk-servers.js 1073741824
 */
import net, { type AddressInfo } from 'node:net';
import { sendBytes } from './send-bytes.js';

const bytes = Number(process.argv[2] ?? 1024 ** 3);
const chunk = Buffer.alloc(256 * 1024, 'x');

const sink = net.createServer({ allowHalfOpen: true }, (socket) => {
  let received = 0;
  socket.on('data', (data: Buffer) => (received += data.length));
  socket.on('end', () => socket.end(String(received)));
  socket.on('error', () => {});
});

const source = net.createServer((socket) => {
  socket.on('error', () => {});
  sendBytes(socket, bytes, chunk);
});

let listening = 0;
for (const server of [sink, source]) {
  server.listen(0, '127.0.0.1', () => {
    if (++listening === 2) process.stdout.write(`${JSON.stringify({ sink: (sink.address() as AddressInfo).port, source: (source.address() as AddressInfo).port })}\n`);
  });
}
