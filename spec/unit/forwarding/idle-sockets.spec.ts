import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { IdleSocketReaper } from '../../../middleware/forwarding/idle-sockets.js';
import { waitFor } from '../../support/wait.js';

describe('IdleSocketReaper', () => {
  let server: http.Server;
  let agent: http.Agent;
  let reaper: IdleSocketReaper;
  let port: number;
  let closed = 0;

  beforeEach(async () => {
    closed = 0;
    server = http.createServer((req, res) => {
      // a slow answer keeps its socket busy, out of the free list
      setTimeout(() => res.end('ok'), req.url === '/slow' ? 400 : 0);
    });
    server.keepAliveTimeout = 60_000;
    server.on('connection', (socket) => socket.on('close', () => closed++));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    agent = new http.Agent({ keepAlive: true });
  });

  afterEach(async () => {
    reaper.close();
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  function get(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path, agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
  }

  it('closes a keep-alive socket idle in the free list for idleMs, and not before', async () => {
    reaper = new IdleSocketReaper([agent], 300);
    await get('/');
    const freeAt = Date.now();
    expect(Object.values(agent.freeSockets).flat()).to.have.length(1);
    await waitFor('the idle socket to close', () => closed === 1, 2_000);
    expect(Date.now() - freeAt).to.be.at.least(250);
    expect(Object.values(agent.freeSockets).flat()).to.have.length(0);
  });

  it('leaves a socket alone while a request uses it, and times it from its last use', async () => {
    reaper = new IdleSocketReaper([agent], 150);
    await get('/slow'); // busy for 400 ms, longer than idleMs: never in the free list meanwhile
    expect(closed).to.equal(0);
    await get('/'); // the same socket, reused
    expect(closed).to.equal(0);
    await waitFor('the idle socket to close', () => closed === 1, 2_000);
  });
});
