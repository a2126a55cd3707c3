import { expect } from 'chai';
import { once } from 'node:events';
import WebSocket, { WebSocketServer } from 'ws';
import { createBalancer, type Balancer } from '../../middleware/index.js';
import { startBackends, type Backend } from '../support/backends.js';
import { FLAVOURS, startHost, type Host } from '../support/hosts.js';

async function open(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  await once(socket, 'open');
  return socket;
}

async function ask(socket: WebSocket, text: string): Promise<string> {
  socket.send(text);
  const [data] = await once(socket, 'message');
  return String(data);
}

for (const flavour of FLAVOURS) {
  describe(`WebSockets through ${flavour}`, () => {
    let backends: Backend[];
    let balancer: Balancer;
    let host: Host;

    before(async () => {
      backends = await startBackends(2, 'ws-');
      for (const backend of backends) {
        const wss = new WebSocketServer({ server: backend.server });
        wss.on('connection', (socket, req) => socket.on('message', (data) => socket.send(`${backend.id} ${req.url} ${String(data)}`)));
      }
      balancer = createBalancer({
        pools: { live: { algorithm: 'least-connections', servers: backends.map((b) => ({ id: b.id, url: b.url })) } },
        routes: [{ path: '/live', pool: 'live' }],
      });
      host = await startHost(flavour, balancer);
    });

    after(async () => {
      await host.close();
      await balancer.close();
      await Promise.all(backends.map((b) => b.close()));
    });

    it('tunnels an upgrade on a routed path', async () => {
      const socket = await open(`${host.url.replace('http', 'ws')}/live/feed`);
      expect(await ask(socket, 'hello')).to.match(/^ws-\d \/live\/feed hello$/);
      socket.close();
    });

    it('counts open WebSockets for least-connections', async () => {
      const sockets = await Promise.all([1, 2, 3, 4].map(() => open(`${host.url.replace('http', 'ws')}/live`)));
      const servedBy = await Promise.all(sockets.map((socket) => ask(socket, 'who').then((answer) => answer.split(' ')[0])));
      expect(servedBy.filter((id) => id === 'ws-1')).to.have.length(2);
      const active = balancer.snapshot().pools.live!.servers.map((s) => s.active);
      expect(active).to.deep.equal([2, 2]);
      for (const socket of sockets) socket.close();
      await Promise.all(sockets.map((socket) => once(socket, 'close')));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(balancer.snapshot().pools.live!.servers.map((s) => s.active)).to.deep.equal([0, 0]);
    });

    it('refuses upgrades on unrouted paths', async () => {
      const socket = new WebSocket(`${host.url.replace('http', 'ws')}/elsewhere`);
      const [error] = (await once(socket, 'error')) as [Error];
      expect(error.message).to.match(/404/);
    });
  });
}
