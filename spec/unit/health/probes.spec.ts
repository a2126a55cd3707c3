import { expect } from 'chai';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createProbe, MAX_BODY_BYTES, type ProbeResult } from '../../../middleware/health/probes.js';
import { silentLogger } from '../../../middleware/logger.js';
import { normalizeOptions, type HealthCheckOptions, type TlsOptions } from '../../../middleware/options.js';
import { barePool } from '../../support/pools.js';
import { refusedUrl, startBackend, type Backend, type Handler } from '../../support/backends.js';
import { selfSignedCertificate, type TestCertificate } from '../../support/tls.js';
import { waitFor } from '../../support/wait.js';

/** A probe for one server of a real pool, built from user options as the balancer would. */
function probeFor(url: string, healthCheck: HealthCheckOptions, tls?: TlsOptions): (signal?: AbortSignal) => Promise<ProbeResult> {
  const config = normalizeOptions({ pools: { api: { servers: [{ id: 'a', url }], healthCheck, ...(tls ? { tls } : {}) } }, logger: silentLogger }).pools[0]!;
  const server = barePool(config).servers[0]!;
  return createProbe(server, config.healthCheck!, config.tls);
}

async function timed(run: Promise<ProbeResult>): Promise<ProbeResult & { ms: number }> {
  const started = Date.now();
  const result = await run;
  return { ...result, ms: Date.now() - started };
}

function openConnections(backend: { server: { getConnections(cb: (error: Error | null, count: number) => void): void } }): Promise<number> {
  return new Promise((resolve, reject) => backend.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}


describe('health probes', () => {
  const backends: Backend[] = [];
  async function backend(handler: Handler): Promise<Backend> {
    const started = await startBackend(`p${backends.length + 1}`, handler);
    backends.push(started);
    return started;
  }
  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
  });

  describe('http', () => {
    let status = 200;
    let body = 'ok';
    const seen: Array<{ method: string | undefined; url: string | undefined; host: string | undefined }> = [];
    let url = '';
    before(async () => {
      const b = await backend((req, res) => {
        seen.push({ method: req.method, url: req.url, host: req.headers.host });
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(body);
      });
      url = b.url;
    });
    beforeEach(() => {
      status = 200;
      body = 'ok';
      seen.length = 0;
    });

    it('passes on the default 200-399 and fails otherwise, saying the status', async () => {
      const probe = probeFor(url, { type: 'http', timeoutMs: 500 });
      expect(await probe()).to.deep.equal({ ok: true, reason: 'ok 200' });
      status = 302;
      expect(await probe()).to.deep.equal({ ok: true, reason: 'ok 302' });
      status = 500;
      expect(await probe()).to.deep.equal({ ok: false, reason: 'status 500' });
      status = 404;
      expect(await probe()).to.deep.equal({ ok: false, reason: 'status 404' });
    });

    it('takes expectStatus as a list', async () => {
      const probe = probeFor(url, { type: 'http', timeoutMs: 500, expectStatus: [200, 204] });
      status = 204;
      expect((await probe()).ok).to.equal(true);
      status = 201;
      expect(await probe()).to.deep.equal({ ok: false, reason: 'status 201' });
    });

    it('takes expectStatus as a range, bounds included', async () => {
      const probe = probeFor(url, { type: 'http', timeoutMs: 500, expectStatus: '300-399' });
      status = 300;
      expect((await probe()).ok).to.equal(true);
      status = 399;
      expect((await probe()).ok).to.equal(true);
      status = 200;
      expect(await probe()).to.deep.equal({ ok: false, reason: 'status 200' });
    });

    it('with expectBody, passes only when the body contains it', async () => {
      const probe = probeFor(url, { type: 'http', timeoutMs: 500, expectBody: '"ready"' });
      body = '{"status":"ready"}';
      expect(await probe()).to.deep.equal({ ok: true, reason: 'ok 200' });
      body = '{"status":"starting"}';
      expect(await probe()).to.deep.equal({ ok: false, reason: 'body lacks "\\"ready\\""' });
      status = 500;
      body = '"ready"';
      expect(await probe()).to.deep.equal({ ok: false, reason: 'status 500' }, 'the status is checked too');
    });

    it(`reads at most ${MAX_BODY_BYTES / 1024} KiB of body`, async () => {
      const probe = probeFor(url, { type: 'http', timeoutMs: 1000, expectBody: 'MARK' });
      body = `${'x'.repeat(MAX_BODY_BYTES - 100)}MARK`;
      expect((await probe()).ok).to.equal(true);
      body = `${'x'.repeat(MAX_BODY_BYTES + 10)}MARK`;
      expect(await probe()).to.deep.equal({ ok: false, reason: 'body lacks "MARK"' });
    });

    it('sends the method and path, under the server URL base path', async () => {
      await probeFor(`${url}/app/`, { type: 'http', timeoutMs: 500, method: 'head', path: '/health?deep=1' })();
      expect(seen).to.have.length(1);
      expect(seen[0]).to.include({ method: 'HEAD', url: '/app/health?deep=1' });
    });

    it('sends the server host:port as Host by default, or the configured host', async () => {
      await probeFor(url, { type: 'http', timeoutMs: 500 })();
      await probeFor(url, { type: 'http', timeoutMs: 500, host: 'api.internal' })();
      expect(seen.map((s) => s.host)).to.deep.equal([new URL(url).host, 'api.internal']);
      expect(seen[0]!.host).to.match(/^127\.0\.0\.1:\d+$/);
    });
  });

  describe('a server that accepts connections but never answers', () => {
    let hanging: Backend;
    before(async () => {
      hanging = await backend(() => {}); // the app never responds
    });

    it('passes tcp: the port is open (and the socket is closed at once)', async () => {
      const result = await timed(probeFor(hanging.url, { type: 'tcp', timeoutMs: 500 })());
      expect(result).to.include({ ok: true, reason: 'connected' });
      expect(result.ms).to.be.below(400);
      await waitFor('the probe connection to close', async () => (await openConnections(hanging)) === 0);
    });

    it('fails http at the timeout, and leaves no connection open', async () => {
      const result = await timed(probeFor(hanging.url, { type: 'http', timeoutMs: 120 })());
      expect(result).to.include({ ok: false, reason: 'timeout after 120 ms' });
      expect(result.ms).to.be.within(110, 400);
      await waitFor('the probe connection to close', async () => (await openConnections(hanging)) === 0);
    });
  });

  describe('a refused port', () => {
    it('fails tcp and http with the error code', async () => {
      const url = await refusedUrl();
      expect(await probeFor(url, { type: 'tcp', timeoutMs: 500 })()).to.deep.equal({ ok: false, reason: 'ECONNREFUSED' });
      expect(await probeFor(url, { type: 'http', timeoutMs: 500 })()).to.deep.equal({ ok: false, reason: 'ECONNREFUSED' });
    });
  });

  describe('abort', () => {
    it('resolves "aborted" at once and closes the connection', async () => {
      let arrived = 0;
      let closedBeforeAnswer = 0;
      const slow = await backend((req, res) => {
        arrived++;
        const timer = setTimeout(() => res.end('late'), 400);
        res.on('close', () => {
          if (!res.writableFinished) closedBeforeAnswer++;
          clearTimeout(timer);
        });
      });
      const controller = new AbortController();
      const running = timed(probeFor(slow.url, { type: 'http', timeoutMs: 500 })(controller.signal));
      await waitFor('the probe to arrive', () => arrived === 1);
      controller.abort();
      const result = await running;
      expect(result).to.include({ ok: false, reason: 'aborted' });
      expect(result.ms).to.be.below(300);
      await waitFor('the backend to see the connection close', () => closedBeforeAnswer === 1);
    });
  });

  describe('custom', () => {
    const url = 'http://127.0.0.1:9';

    it('passes on a truthy answer and gets the server id and url', async () => {
      const seen: Array<{ id: string; url: string }> = [];
      const check = async (server: { id: string; url: string }): Promise<boolean> => {
        seen.push(server);
        return true;
      };
      const probe = probeFor(url, { type: 'custom', timeoutMs: 200, check });
      expect(await probe()).to.deep.equal({ ok: true, reason: 'check passed' });
      expect(seen).to.deep.equal([{ id: 'a', url }]);
    });

    it('fails on false, a throw and a rejection, with the error message', async () => {
      expect(await probeFor(url, { type: 'custom', timeoutMs: 200, check: () => false })()).to.deep.equal({ ok: false, reason: 'check returned false' });
      const throws = (): boolean => {
        throw new Error('database unreachable');
      };
      expect(await probeFor(url, { type: 'custom', timeoutMs: 200, check: throws })()).to.deep.equal({ ok: false, reason: 'database unreachable' });
      const rejects = async (): Promise<boolean> => Promise.reject(new Error('queue full'));
      expect(await probeFor(url, { type: 'custom', timeoutMs: 200, check: rejects })()).to.deep.equal({ ok: false, reason: 'queue full' });
    });

    it('fails a check that never resolves at the timeout', async () => {
      const result = await timed(probeFor(url, { type: 'custom', timeoutMs: 80, check: () => new Promise<boolean>(() => {}) })());
      expect(result).to.include({ ok: false, reason: 'timeout after 80 ms' });
      expect(result.ms).to.be.within(75, 300);
    });

    it('gives the check an AbortSignal that fires at its timeout, so its own work can stop', async () => {
      let signal: AbortSignal | undefined;
      let abortedAfterMs = -1;
      const started = Date.now();
      const check = (_server: unknown, context: { signal: AbortSignal }) => new Promise<boolean>((resolve) => {
        signal = context.signal;
        context.signal.addEventListener('abort', () => {
          abortedAfterMs = Date.now() - started;
          resolve(false);
        });
      });
      expect(await probeFor(url, { type: 'custom', timeoutMs: 80, check })()).to.include({ ok: false, reason: 'timeout after 80 ms' });
      expect(signal!.aborted).to.equal(true);
      expect(abortedAfterMs).to.be.within(75, 300);
      // a check that answers in time is not aborted
      let kept: AbortSignal | undefined;
      await probeFor(url, { type: 'custom', timeoutMs: 80, check: (_s: unknown, context: { signal: AbortSignal }) => ((kept = context.signal), true) })();
      expect(kept!.aborted).to.equal(false);
    });
  });

  describe('https', () => {
    let certificate: TestCertificate;
    let server: https.Server;
    let url: string;
    before(async () => {
      certificate = selfSignedCertificate(); // openssl req -x509, in a temp dir
      server = https.createServer(certificate, (req, res) => res.end('secure ok'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('rejects a self-signed certificate by default', async () => {
      const result = await probeFor(url, { type: 'http', timeoutMs: 1000, expectBody: 'secure' })();
      expect(result.ok).to.equal(false);
      expect(result.reason).to.match(/SELF_SIGNED/);
    });

    it('accepts it when its CA is given as tls.ca', async () => {
      expect(await probeFor(url, { type: 'http', timeoutMs: 1000, expectBody: 'secure' }, { ca: certificate.cert })()).to.deep.equal({ ok: true, reason: 'ok 200' });
    });

    it('accepts it with rejectUnauthorized: false', async () => {
      expect((await probeFor(url, { type: 'http', timeoutMs: 1000 }, { rejectUnauthorized: false })()).ok).to.equal(true);
    });
  });
});
