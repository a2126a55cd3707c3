/**
 * Every child process the bench starts goes through here, so that one call kills them all
 * on exit, Ctrl-C or error. Children can be pinned to a core with `taskset` (which execs,
 * so the pid we hold is the real process's pid, and /proc/<pid> describes it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { READY_PREFIX } from './backend-contract.js';

const live = new Set<ChildProcess>();

/** A child with its stderr tail kept for error messages. */
export interface Child {
  process: ChildProcess;
  pid: number;
  name: string;
  stderrTail(): string;
  /** Resolves when the process has exited (immediately if it already has). */
  exited: Promise<void>;
}

export function spawnPinned(name: string, core: number | undefined, command: string, args: readonly string[], options: { echoStderr: boolean }): Child {
  const [file, fileArgs] = core === undefined ? [command, [...args]] : ['taskset', ['-c', String(core), command, ...args]];
  // stdin stays open: child entries exit when it closes (the orchestrator died)
  const child = spawn(file, fileArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${file} ${fileArgs.join(' ')}`);
  live.add(child);
  let tail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-4000);
    if (options.echoStderr) process.stderr.write(chunk.replace(/^(?=.)/gm, `[${name}] `));
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('close', () => resolve()); // after stdout is drained, not just 'exit'
    child.once('error', () => resolve());
  });
  exited.then(() => live.delete(child));
  return { process: child, pid: child.pid, name, stderrTail: () => tail.trim(), exited };
}

/** Wait for the child's `READY <payload>` line; fail if it exits or stays silent. */
export function waitForReady(child: Child, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const stdout = child.process.stdout!;
    stdout.setEncoding('utf8');
    const onData = (chunk: string): void => {
      buffered += chunk;
      const line = buffered.split('\n').find((candidate) => candidate.startsWith(READY_PREFIX));
      if (line !== undefined) done(undefined, line.slice(READY_PREFIX.length).trim());
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      done(new Error(`${child.name} exited before it was ready (code ${code}, signal ${signal})${stderrNote(child)}`));
    const timer = setTimeout(() => done(new Error(`${child.name} not ready after ${timeoutMs} ms${stderrNote(child)}`)), timeoutMs);
    function done(error: Error | undefined, payload?: string): void {
      clearTimeout(timer);
      stdout.off('data', onData);
      child.process.off('exit', onExit);
      // keep draining stdout so a chatty child never blocks on a full pipe
      stdout.resume();
      if (error) reject(error);
      else resolve(payload!);
    }
    stdout.on('data', onData);
    child.process.once('exit', onExit);
  });
}

export function stderrNote(child: Child): string {
  const tail = child.stderrTail();
  return tail ? `\n--- ${child.name} stderr ---\n${tail}` : '';
}

/** Stop one child and wait until it is gone, so the next row has the core to itself. */
export async function stop(child: Child): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  await child.exited;
}

/** Synchronous, for process 'exit' handlers: kill whatever is still running. */
export function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

/** Kill every child on normal exit, Ctrl-C, SIGTERM and crashes. */
export function installCleanup(): void {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAll();
      console.error(`\nbench: ${signal}, children stopped`);
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
  process.on('uncaughtException', (error) => {
    killAll();
    console.error('bench: uncaught exception:', error);
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    killAll();
    console.error('bench: unhandled rejection:', reason);
    process.exit(1);
  });
}
