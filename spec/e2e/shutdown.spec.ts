import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

describe('shutdown', () => {
  it('a process that served traffic with checks running exits on its own after close()', async function () {
    this.timeout(15000);
    const child = spawn(process.execPath, [join(__dirname, '../fixtures/serve-and-close.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started = Date.now();
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    const deadline = new Promise<'lingering'>((resolve) => setTimeout(() => resolve('lingering'), 8000).unref());
    const result = await Promise.race([exited, deadline]);
    if (result === 'lingering') child.kill('SIGKILL');
    expect(result, 'the process kept running after close()').to.not.equal('lingering');
    expect(result).to.deep.equal([0, null]);
    expect(output).to.equal('closed\n');
    expect(Date.now() - started).to.be.below(8000);
  });
});
