import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository: specs run from dist/spec/packaging. */
export const repoRoot = path.resolve(__dirname, '../../..');

/** What a fresh clone has that `npm pack` needs; dist is left behind on purpose. */
const SOURCES = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'LICENSE', 'README.md', 'scripts', 'middleware', 'dashboard', 'views'];

/** The strict settings a careful consumer compiles with: library types are checked too. */
export const STRICT_TSCONFIG = {
  compilerOptions: {
    target: 'es2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    esModuleInterop: true,
    types: ['node'],
    outDir: 'out',
  },
};

export interface Consumer {
  /** The temporary project with the tarball installed. */
  dir: string;
  /** The packed file names, as `npm pack --json` lists them. */
  files: string[];
  exec(command: string, args: string[], options?: { env?: NodeJS.ProcessEnv }): Promise<{ stdout: string; stderr: string }>;
  remove(): void;
}

/**
 * Pack a copy of the sources (so that packing, which rebuilds dist, leaves this run's dist alone),
 * then install the tarball into a new project, as a user would, with `extra` packages beside it.
 * Packages come from npm's cache when they are there, so this works offline once installed.
 */
export async function packAndInstall(extra: string[]): Promise<Consumer> {
  const root = mkdtempSync(path.join(tmpdir(), 'switchyard-pack-'));
  const source = path.join(root, 'source');
  mkdirSync(source);
  for (const entry of SOURCES) cpSync(path.join(repoRoot, entry), path.join(source, entry), { recursive: true });
  // the build tools only: the tarball's own dependencies are installed from the registry below
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(source, 'node_modules'), 'dir');
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', root], { cwd: source, maxBuffer: 16 << 20 });
  const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = path.join(root, packed[0]!.filename);

  const dir = path.join(root, 'consumer');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  const install = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock'];
  await run('npm', [...install, tarball, ...extra], { cwd: dir, maxBuffer: 16 << 20 });
  return {
    dir,
    files: packed[0]!.files.map((file) => file.path),
    exec: (command, args, options = {}) => run(command, args, { cwd: dir, env: { ...process.env, ...options.env }, maxBuffer: 16 << 20 }),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The TypeScript compiler installed in the consumer project. */
export function tsc(consumer: Consumer, project = 'tsconfig.json'): Promise<{ stdout: string; stderr: string }> {
  return consumer.exec(process.execPath, [path.join(consumer.dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project]);
}

/** Versions the consumer installs: the ones this repository is tested with, so that npm's cache has them. */
export function devVersion(name: string): string {
  const pkg = require(path.join(repoRoot, 'package.json')) as { devDependencies: Record<string, string> };
  const range = pkg.devDependencies[name];
  if (range === undefined) throw new Error(`${name} is not a devDependency`);
  return `${name}@${range}`;
}
