import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { send } from '../support/hosts.js';

/**
 * The property: nothing a backend, a client or a callback does takes the process down. A child
 * runs a balancer whose every documented callback throws, in front of malformed backends, on all
 * three adapters; this test drives traffic at it and checks that every answer is well-formed
 * and that the process is alive at the end.
 */
describe('no crash, whatever callbacks and backends do', () => {
  let child: ChildProcess;
  let urls: Record<string, string>;
  let stderr = '';

  before(async function () {
    this.timeout(20_000);
    child = spawn(process.execPath, ['--unhandled-rejections=strict', path.join(__dirname, '..', 'fixtures', 'hostile-callbacks.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    urls = await new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before serving: ${stderr}`)));
      child.stdout!.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as Record<string, string>));
    });
  });

  after(() => {
    child?.kill('SIGKILL');
  });

  /** A request's outcome: its status, or how the connection ended. */
  async function outcome(url: string, target: string, options: Parameters<typeof send>[2] = {}): Promise<number | string> {
    try {
      const res = await Promise.race([send(url, target, options), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('hung')), 5000))]);
      return res.status;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    }
  }

  for (const flavour of ['express', 'koa', 'wrap']) {
    it(`stays up and answers well-formed through ${flavour}`, async function () {
      this.timeout(30_000);
      const url = urls[flavour]!;
      const seen: Array<[string, number | string]> = [];
      const record = async (what: string, result: Promise<number | string>) => seen.push([what, await result]);

      for (let i = 0; i < 3; i++) await record('throwing pick', outcome(url, '/picks/x'));
      for (let i = 0; i < 3; i++) await record('throwing update/acquired/released', outcome(url, '/updates/x'));
      for (let i = 0; i < 20; i++) await record('malformed response', outcome(url, `/malformed/${i}`));
      let cookie: string | undefined;
      for (let i = 0; i < 6; i++) {
        const res = await send(url, '/ejecting/x', cookie ? { headers: { cookie } } : {});
        seen.push(['passive ejection with throwing listeners and store', res.status]);
        const set = res.headers['set-cookie']?.[0];
        if (set) cookie = set.split(';')[0];
      }
      expect(cookie, 'a sticky pool gave a cookie').to.be.a('string');
      // a valid cookie sends the request through the (rejecting) store before the throwing pick
      for (let i = 0; i < 3; i++) await record('async store, then a throwing pick', outcome(url, '/picks/x', { headers: { cookie: cookie! } }));
      for (let i = 0; i < 3; i++) await record('a POST body to a throwing pick', outcome(url, '/picks/x', { method: 'POST', body: 'data', headers: { cookie: cookie! } }));
      await record('a failing custom check', outcome(url, '/checked/x'));
      seen.push(['an upgrade to a throwing pick', await upgrade(url, '/picks/ws', cookie!)]);

      const allowed = new Set<number | string>([200, 502, 503, 'ECONNRESET', 'socket hang up']);
      const odd = seen.filter(([, result]) => !allowed.has(result));
      expect(odd, 'answers that are not a status or a clean cut').to.deep.equal([]);
      expect(seen.filter(([what]) => what === 'malformed response').map(([, r]) => r)).to.include(502);
      expect(child.exitCode, `the process is alive: ${stderr}`).to.equal(null);
      expect((await send(url, '/app-route')).body).to.equal('app');
    });
  }

  it('is alive at the end', () => {
    expect(child.exitCode).to.equal(null);
    expect(child.signalCode).to.equal(null);
  });
});

/** An upgrade request over a raw socket: the status line it got, or how it ended. */
function upgrade(base: string, target: string, cookie: string): Promise<number | string> {
  const { port } = new URL(base);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('hung');
    }, 5000);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0) || 'ECONNRESET');
    });
    socket.on('error', () => {});
    socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
}
