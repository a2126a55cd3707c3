import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { devVersion, packAndInstall, STRICT_TSCONFIG, tsc, type Consumer } from './installed-package.js';

/**
 * A program using the core and the dashboard, as a user writes it. It runs unchanged as
 * CommonJS (.cts) and as an ES module (.mts), prints what it saw as JSON, and exits on its own.
 */
const PROGRAM = `
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createBalancer, ConfigError, type BalancerOptions, type FinishRecord } from 'switchyard';
import { createDashboard, type Dashboard } from 'switchyard/dashboard';

async function main(): Promise<void> {
  const backend = http.createServer((req, res) => res.end(\`backend saw \${req.url ?? ''}\`));
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const { port } = backend.address() as AddressInfo;

  const finished: FinishRecord[] = [];
  const options: BalancerOptions = {
    pools: { api: { servers: [{ id: 'api-1', url: \`http://127.0.0.1:\${port}\` }] } },
    routes: [{ path: '/api', pool: 'api', hooks: { finish: (record) => { finished.push(record); } } }],
  };
  const balancer = createBalancer(options);
  const dashboard: Dashboard = createDashboard(balancer, { auth: { username: 'ops', password: 'correct horse' } });

  const app = express();
  app.use(balancer.express());
  app.use('/admin', dashboard);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const base = \`http://127.0.0.1:\${(server.address() as AddressInfo).port}\`;

  const proxied = await (await fetch(\`\${base}/api/hello\`)).text();
  const authorization = \`Basic \${Buffer.from('ops:correct horse').toString('base64')}\`;
  const pools = await fetch(\`\${base}/admin/api/pools\`, { headers: { authorization } });

  let configPath = '';
  try {
    createBalancer({ pools: { api: { servers: [{ id: 'x', url: 'not a url' }] } } });
  } catch (error) {
    if (error instanceof ConfigError) configPath = error.path;
  }

  dashboard.close();
  await balancer.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => backend.close(() => resolve()));
  process.stdout.write(JSON.stringify({ proxied, dashboardStatus: pools.status, finished: finished.map((r) => [r.pool, r.server, r.status]), configPath }));
}

void main();
`;

describe('the published package, installed into a strict TypeScript project', function () {
  this.timeout(120_000);
  let consumer: Consumer;

  before(async () => {
    consumer = await packAndInstall([devVersion('typescript'), devVersion('@types/node'), devVersion('@types/express')]);
    const src = path.join(consumer.dir, 'src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'app.cts'), PROGRAM);
    writeFileSync(path.join(src, 'app.mts'), PROGRAM);
    writeFileSync(path.join(consumer.dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...STRICT_TSCONFIG.compilerOptions, rootDir: 'src' }, include: ['src'] }));
  });

  after(() => consumer?.remove());

  it('ships the build, the views, the licence and no sources, specs or source maps', () => {
    const { files } = consumer;
    for (const file of ['dist/middleware/index.js', 'dist/middleware/index.mjs', 'dist/middleware/index.d.ts', 'dist/middleware/index.d.mts', 'dist/dashboard/index.js', 'dist/dashboard/index.mjs', 'views/dashboard.ejs', 'dashboard/public/dashboard.js', 'LICENSE', 'README.md', 'package.json']) {
      expect(files, file).to.include(file);
    }
    expect(files.filter((file) => file.endsWith('.map')), 'source maps').to.deep.equal([]);
    expect(files.filter((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts')), 'sources').to.deep.equal([]);
    expect(files.filter((file) => /^(dist\/)?(spec|bench|example-app|scripts)\//.test(file)), 'not for users').to.deep.equal([]);
  });

  it('keeps @internal members out of the published types', async () => {
    const { stdout } = await consumer.exec('grep', ['-rlE', '--include=*.d.ts', '--include=*.d.mts', 'poolInternal|@internal', 'node_modules/switchyard/dist']).catch(() => ({ stdout: '' }));
    expect(stdout.trim()).to.equal('');
  });

  it('compiles under strict, exactOptionalPropertyTypes and skipLibCheck: false', async () => {
    const { stdout } = await tsc(consumer).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    expect(stdout.trim()).to.equal('');
  });

  for (const [format, file] of [['CommonJS', 'app.cjs'], ['an ES module', 'app.mjs']] as const) {
    it(`runs as ${format}: proxies, serves the dashboard, throws ConfigError`, async () => {
      const { stdout } = await consumer.exec(process.execPath, [path.join('out', file)]);
      const result = JSON.parse(stdout) as Record<string, unknown>;
      expect(result).to.deep.equal({ proxied: 'backend saw /api/hello', dashboardStatus: 200, finished: [['api', 'api-1', 200]], configPath: 'pools.api.servers[0].url' });
    });
  }

  it('import and require give the same classes (one copy of the package, not two)', async () => {
    const script = [
      "import { createRequire } from 'node:module';",
      "import { createBalancer, ConfigError } from 'switchyard';",
      "import { createDashboard } from 'switchyard/dashboard';",
      'const require = createRequire(import.meta.url);',
      "console.log(JSON.stringify([typeof createBalancer, typeof createDashboard, ConfigError === require('switchyard').ConfigError, createDashboard === require('switchyard/dashboard').createDashboard]));",
    ].join('\n');
    const { stdout } = await consumer.exec(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).to.deep.equal(['function', 'function', true, true]);
  });

  it("require('switchyard') loads neither express, ejs nor ioredis, and ioredis is not installed", async () => {
    const script = "require('switchyard'); console.log(JSON.stringify(Object.keys(require.cache)))";
    const loaded = JSON.parse((await consumer.exec(process.execPath, ['-e', script])).stdout) as string[];
    expect(loaded.some((file) => file.includes(`${path.sep}switchyard${path.sep}`))).to.equal(true);
    for (const name of ['express', 'ejs', 'ioredis']) {
      expect(loaded.filter((file) => file.includes(`node_modules${path.sep}${name}${path.sep}`)), name).to.deep.equal([]);
    }
    const dashboard = JSON.parse((await consumer.exec(process.execPath, ['-e', script.replace("'switchyard'", "'switchyard/dashboard'")])).stdout) as string[];
    expect(dashboard.some((file) => file.includes(`node_modules${path.sep}express${path.sep}`)), 'the dashboard uses express').to.equal(true);
    await consumer.exec(process.execPath, ['-e', "require.resolve('ioredis')"]).then(
      () => expect.fail('ioredis was installed: it must stay an optional peer'),
      () => undefined,
    );
  });
});
