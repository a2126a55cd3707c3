/**
 * The load generator: `wrk` where installed (C, one thread, cheap per request), else
 * autocannon from a child process. Either runs pinned to the load core and ends by itself.
 */
import path from 'node:path';
import { spawnPinned, stderrNote, stop } from './children.js';
import { parseAutocannon, parseWrk, type LoadResult } from './load-result.js';

export type LoadGenerator = 'wrk' | 'autocannon';

export interface LoadRun {
  url: string;
  durationS: number;
  connections: number;
  core: number | undefined;
}

export async function runLoad(generator: LoadGenerator, run: LoadRun): Promise<LoadResult> {
  const [command, args] =
    generator === 'wrk'
      ? ['wrk', ['-t1', `-c${run.connections}`, `-d${run.durationS}s`, '--latency', run.url]]
      : [process.execPath, [autocannonCli(), '--json', '-c', String(run.connections), '-d', String(run.durationS), run.url]];
  const output = await runToEnd(generator, run.core, command, args, (run.durationS + 20) * 1000);
  return generator === 'wrk' ? parseWrk(output) : parseAutocannon(output);
}

function autocannonCli(): string {
  return path.join(path.dirname(require.resolve('autocannon/package.json')), 'autocannon.js');
}

/** Run a bounded command and return its stdout; a hard deadline backs up its own duration. */
async function runToEnd(name: string, core: number | undefined, command: string, args: readonly string[], deadlineMs: number): Promise<string> {
  const child = spawnPinned(name, core, command, args, { echoStderr: false });
  child.process.stdin!.end();
  let stdout = '';
  child.process.stdout!.setEncoding('utf8');
  child.process.stdout!.on('data', (chunk: string) => (stdout += chunk));
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    void stop(child);
  }, deadlineMs);
  await child.exited;
  clearTimeout(deadline);
  const { exitCode, signalCode } = child.process;
  if (timedOut) throw new Error(`${name} still running after ${deadlineMs} ms, killed${stderrNote(child)}`);
  if (exitCode !== 0) throw new Error(`${name} failed (code ${exitCode}, signal ${signalCode})${stderrNote(child)}\n${stdout}`);
  return stdout;
}
