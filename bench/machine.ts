/** The machine line printed above the table, and what this machine can do (taskset, wrk). */
import { spawnSync } from 'node:child_process';
import os from 'node:os';

export interface Machine {
  date: string;
  nproc: number;
  cpuModel: string;
  node: string;
  /** Ticks per second for /proc CPU times. */
  clockTicks: number;
  hasTaskset: boolean;
  wrkVersion: string | undefined;
}

export function describeMachine(): Machine {
  const nproc = Number(run('nproc', []).trim()) || os.availableParallelism();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    clockTicks: Number(run('getconf', ['CLK_TCK']).trim()) || 100,
    hasTaskset: commandExists('taskset'),
    wrkVersion: commandExists('wrk') ? run('wrk', ['-v']).split('\n')[0]?.trim() : undefined,
  };
}

/** Cores to pin to: the proxy on 0, backends and load generator on 1, when both exist. */
export function pinning(machine: Machine): { proxyCore: number | undefined; loadCore: number | undefined } {
  if (!machine.hasTaskset || machine.nproc < 2) return { proxyCore: undefined, loadCore: undefined };
  return { proxyCore: 0, loadCore: 1 };
}

function commandExists(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** stdout + stderr of a short command (`wrk -v` prints to stdout and exits 1). */
function run(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 5_000 });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`;
}
