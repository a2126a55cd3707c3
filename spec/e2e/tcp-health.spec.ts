import { expect } from 'chai';
import { once } from 'node:events';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { createBalancer, type Balancer, type PoolOptions } from '../../middleware/index.js';
import { renderMetrics } from '../../middleware/stats/prometheus.js';
import { recorder } from '../support/recording-logger.js';
import { closedPort, exchange, startTcpServer, type TcpServer } from '../support/tcp-servers.js';
import { waitFor } from '../support/wait.js';

/** A line server: answers each line with `answer(line)`. */
function lineServer(answer: (line: string) => string): Promise<TcpServer> {
  return startTcpServer((socket) => {
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let end: number;
      while ((end = buffered.indexOf('\r\n')) !== -1) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        socket.write(answer(line));
      }
    });
    socket.on('end', () => socket.end());
  });
}

describe('TCP pools: health, stats and metrics', () => {
  let balancer: Balancer | undefined;
  let listener: NetServer | undefined;
  const servers: TcpServer[] = [];

  async function listen(pool: Omit<PoolOptions, 'protocol'>): Promise<number> {
    balancer = createBalancer({ pools: { p: { protocol: 'tcp', ...pool } as PoolOptions }, logger: recorder() });
    listener = balancer.listenTcp(0, 'p', { host: '127.0.0.1' });
    await once(listener, 'listening');
    return (listener.address() as AddressInfo).port;
  }

  afterEach(async () => {
    await balancer?.close();
    balancer = undefined;
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('send/expect catches a server that accepts but answers wrongly, and keeps traffic off it', async () => {
    const good = await lineServer((line) => (line === 'PING' ? '+PONG\r\n' : `+${line}\r\n`));
    const wrong = await lineServer(() => '-ERR loading dataset in memory\r\n');
    servers.push(good, wrong);
    const port = await listen({
      healthCheck: { type: 'tcp', send: 'PING\r\n', expect: '+PONG', intervalMs: 100, timeoutMs: 50, unhealthyThreshold: 1 },
      servers: [{ id: 'good', url: good.url }, { id: 'wrong', url: wrong.url }],
    });
    await waitFor('both checked', () => balancer!.snapshot().pools.p!.servers.every((s) => s.checks.length > 0));
    const [goodSnap, wrongSnap] = balancer!.snapshot().pools.p!.servers;
    expect(goodSnap!.health).to.equal('healthy');
    expect(wrongSnap!.health).to.equal('unhealthy');
    expect(wrongSnap!.checks[0]!.reason).to.match(/-ERR loading.*expected "\+PONG"/);
    for (let i = 0; i < 4; i++) expect(await exchange(port, 'HELLO\r\n')).to.equal('+HELLO\r\n');
  });

  it('a RegExp expect, and a server that answers nothing fails by timeout', async () => {
    const master = await lineServer(() => 'role:master\r\n');
    const silent = await startTcpServer(() => {});
    servers.push(master, silent);
    await listen({
      healthCheck: { type: 'tcp', send: 'ROLE\r\n', expect: /^role:master/m, intervalMs: 100, timeoutMs: 50, unhealthyThreshold: 1 },
      servers: [{ id: 'master', url: master.url }, { id: 'silent', url: silent.url }],
    });
    await waitFor('both checked', () => balancer!.snapshot().pools.p!.servers.every((s) => s.checks.length > 0));
    const [m, s] = balancer!.snapshot().pools.p!.servers;
    expect(m!.health).to.equal('healthy');
    expect(s!.health).to.equal('unhealthy');
    expect(s!.checks[0]!.reason).to.match(/timeout/);
  });

  it('ejects a server passively after failed connects; a backup takes over when no primary is left', async () => {
    const backup = await lineServer((line) => `backup ${line}\r\n`);
    servers.push(backup);
    const dead = await closedPort();
    const port = await listen({
      passiveHealth: { consecutiveFailures: 2, baseEjectionMs: 60_000 },
      retries: 0,
      servers: [{ id: 'dead', url: `tcp://127.0.0.1:${dead}` }, { id: 'backup', url: backup.url, backup: true }],
    });
    expect(await exchange(port, 'a\r\n')).to.equal('');
    expect(await exchange(port, 'b\r\n')).to.equal('');
    await waitFor('ejected', () => balancer!.snapshot().pools.p!.servers[0]!.flags.ejected);
    expect(await exchange(port, 'c\r\n')).to.equal('backup c\r\n');
  });

  it('exposes TCP figures in Prometheus, without HTTP status columns', async () => {
    const echo = await lineServer((line) => `${line}\r\n`);
    servers.push(echo);
    const port = await listen({ servers: [{ id: 'e', url: echo.url }] });
    await exchange(port, 'one\r\n');
    await waitFor('closed', () => balancer!.snapshot().pools.p!.servers[0]!.tcp!.closed.client === 1);
    const text = renderMetrics(balancer!.snapshot());
    expect(text).to.include('switchyard_tcp_connections_total{pool="p",server="e"} 1');
    expect(text).to.include('switchyard_tcp_received_bytes_total{pool="p",server="e"} 5');
    expect(text).to.include('switchyard_tcp_sent_bytes_total{pool="p",server="e"} 5');
    expect(text).to.include('switchyard_tcp_connections_open{pool="p",server="e"} 0');
    expect(text).to.include('switchyard_tcp_connect_errors_total{pool="p",server="e",kind="refused"} 0');
    expect(text).to.include('switchyard_tcp_closed_total{pool="p",server="e",cause="client"} 1');
    expect(text).to.match(/switchyard_tcp_connect_duration_seconds_count\{pool="p",server="e"\} 1/);
    expect(text).to.include('switchyard_server_up{pool="p",server="e"} 1');
    expect(text).to.not.include('switchyard_requests_total{pool="p"');
    expect(text).to.not.include('switchyard_request_duration_seconds_bucket{pool="p"');
  });
});
