import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { repoRoot } from './installed-package.js';

/** Option names declared in the options types (`name?:` or `name:`), per interface. */
function declared(): Map<string, Set<string>> {
  const source = readFileSync(path.join(repoRoot, 'middleware/options/types.ts'), 'utf8');
  const interfaces = new Map<string, Set<string>>();
  for (const match of source.matchAll(/export interface (\w+)[^{]*\{([\s\S]*?)\n\}/g)) {
    interfaces.set(match[1]!, new Set([...match[2]!.matchAll(/^ {2}(?:readonly )?(\w+)\??:/gm)].map((field) => field[1]!)));
  }
  return interfaces;
}

/** Where a dotted name in the doc starts, and the interface that holds its next part. */
const ROOTS: Array<[RegExp, string]> = [
  [/^pools\.NAME\.(\w+)/, 'PoolOptions'],
  [/^pools\.NAME\.servers\[\]\.(\w+)/, 'ServerOptions'],
  [/^routes\[\]\.(\w+)/, 'RouteOptions'],
  [/^timeouts\.(\w+)/, 'TimeoutOptions'],
  [/^tls\.(\w+)/, 'TlsOptions'],
  [/^retry\.(\w+)/, 'RetryOptions'],
];

describe('docs/migration.md names only options that exist', () => {
  it('every pools.NAME.*, routes[].*, timeouts.*, tls.* and retry.* it cites is declared', () => {
    const doc = readFileSync(path.join(repoRoot, 'docs/migration.md'), 'utf8');
    const interfaces = declared();
    const cited = [...doc.matchAll(/`([^`\s]+)`/g)].map((match) => match[1]!);
    let checked = 0;
    for (const name of cited) {
      for (const [pattern, owner] of ROOTS) {
        const field = pattern.exec(name)?.[1];
        if (field === undefined) continue;
        if (owner === 'PoolOptions' && name.startsWith('pools.NAME.servers[]')) continue;
        expect(interfaces.get(owner), owner).to.not.equal(undefined);
        expect([...interfaces.get(owner)!], `${name} (${owner})`).to.include(field);
        checked++;
      }
    }
    expect(checked).to.be.at.least(15);
  });

  it('every bare option name in the switchyard column is a balancer, pool or route option', () => {
    const doc = readFileSync(path.join(repoRoot, 'docs/migration.md'), 'utf8');
    const interfaces = declared();
    const known = new Set(['BalancerOptions', 'PoolOptions', 'RouteOptions', 'RetryOptions', 'TimeoutOptions', 'TlsOptions', 'Hooks'].flatMap((name) => [...(interfaces.get(name) ?? [])]));
    for (const hook of ['request', 'response', 'error', 'finish']) known.add(hook);
    const rows = doc.split('\n').filter((line) => line.startsWith('| `'));
    const bare = rows.flatMap((row) => [...(row.split('|')[2] ?? '').matchAll(/`(\w+)`/g)].map((match) => match[1]!));
    const exports = new Set(['keepRawBody', 'algorithm']);
    for (const name of bare) expect(known.has(name) || exports.has(name), name).to.equal(true);
    expect(bare.length).to.be.at.least(10);
  });
});
