import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import express from 'express';
import { createBalancer } from '../../middleware/index.js';
import { createDashboard } from '../../dashboard/index.js';
import { startBackend } from '../support/backends.js';
import { requireTool } from '../support/ci-guard.js';
import { RedisServer } from '../support/redis-server.js';
import { devVersion, packAndInstall, repoRoot, STRICT_TSCONFIG, tsc, type Consumer } from './installed-package.js';
import { marker, snippetsOf, type Snippet } from './snippets.js';

const run = promisify(execFile);

/** The documents whose TypeScript must compile as written; other docs are merged into README.md. */
const DOCUMENTS = ['README.md', 'docs/recipes.md', 'docs/migration.md'].filter((file) => existsSync(path.join(repoRoot, file)));
const all = DOCUMENTS.flatMap((file) => snippetsOf(file, repoRoot));
const typescript = all.filter((snippet) => snippet.lang === 'ts' && marker(snippet, 'skip') === undefined);

/** Each block is its own ES module (the stricter case: `new Redis`, top-level await); `after X` blocks continue block X. */
function sourceOf(snippet: Snippet): string {
  const after = marker(snippet, 'after');
  if (after === undefined) return snippet.code;
  const first = all.find((other) => marker(other, 'name') === after);
  if (!first) throw new Error(`${snippet.where}: no snippet named "${after}"`);
  return `${first.code}\n\n// ---- ${snippet.where}\n${snippet.code}`;
}

describe('the TypeScript in README.md and docs, compiled against the installed package', function () {
  this.timeout(120_000);
  let consumer: Consumer;
  let errors = '';

  before(async () => {
    consumer = await packAndInstall(['typescript', '@types/node', '@types/express', 'koa', '@types/koa', 'ioredis', 'pino', '@opentelemetry/api', '@opentelemetry/sdk-trace-base'].map(devVersion));
    const src = path.join(consumer.dir, 'src');
    mkdirSync(src);
    for (const snippet of typescript) writeFileSync(path.join(src, `${snippet.id}.mts`), sourceOf(snippet));
    // tsc reports no type errors at all while any file has a syntax error: set those aside and compile the rest again
    let files = typescript.map((snippet) => `src/${snippet.id}.mts`);
    for (;;) {
      writeFileSync(path.join(consumer.dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...STRICT_TSCONFIG.compilerOptions, rootDir: 'src' }, files }));
      const output = await tsc(consumer).then(({ stdout }) => stdout, (error: { stdout: string }) => error.stdout);
      errors += output;
      const broken = new Set(output.split('\n').filter((line) => / error TS1\d{3}:/.test(line)).map((line) => line.slice(0, line.indexOf('(')).trim()));
      if (broken.size === 0 || files.every((file) => broken.has(file))) break;
      files = files.filter((file) => !broken.has(file));
    }
  });

  after(() => consumer?.remove());

  it('finds the blocks (a parser that found none would pass everything)', () => {
    expect(typescript.length).to.be.at.least(8);
  });

  for (const snippet of typescript) {
    it(`${snippet.where} type-checks (strict, exactOptionalPropertyTypes, skipLibCheck: false)`, () => {
      const mine = errors.split('\n').filter((line) => line.startsWith(`src/${snippet.id}.mts`));
      expect(mine, sourceOf(snippet)).to.deep.equal([]);
    });
  }

  for (const snippet of typescript.filter((candidate) => marker(candidate, 'run') !== undefined)) {
    it(`${snippet.where} runs against a real redis-server and exits on its own`, async function () {
      requireTool(this, 'redis-server');
      const redis = await RedisServer.start();
      try {
        const { stdout, stderr } = await consumer.exec(process.execPath, [path.join('out', `${snippet.id}.mjs`)], {
          env: { REDIS_URL: redis.url, AFFINITY_SECRET: 'a secret of at least sixteen characters' },
        });
        expect({ stdout, stderr }).to.deep.equal({ stdout: '', stderr: '' });
      } finally {
        await redis.stop();
      }
    });
  }
});

describe("README.md's curl example against a real dashboard", function () {
  const curl = all.find((snippet) => marker(snippet, 'curl') !== undefined);

  it('gets the CSRF token where it says and changes the weight', async function () {
    requireTool(this, 'curl');
    expect(curl, 'a block marked <!-- snippet: curl -->').to.not.equal(undefined);
    const backend = await startBackend('api-1');
    const balancer = createBalancer({ pools: { api: { servers: [{ id: 'api-1', url: backend.url }] } }, routes: [{ path: '/api', pool: 'api' }] });
    const dashboard = createDashboard(balancer, { auth: { username: 'ops', password: 'correct horse battery' } });
    const app = express();
    app.use('/admin', dashboard);
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const script = curl!.code.replaceAll('http://localhost:3000', base);
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { env: { ...process.env, PW: 'correct horse battery' } });
      expect(JSON.parse(stdout), stdout).to.have.nested.property('server.weight', 3);
      expect(balancer.snapshot().pools.api!.servers[0]!.weight).to.equal(3);
    } finally {
      dashboard.close();
      await balancer.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await backend.close();
    }
  });
});
