import { expect } from 'chai';
import { canaryOf, previewSplit, type PreviewServer } from '../../../middleware/rollout/preview.js';

const server = (id: string, effectiveWeight = 1, extra: Partial<PreviewServer> = {}): PreviewServer => ({
  id, labels: { version: id.startsWith('c') ? 'v2' : 'v1' }, backup: false, eligible: true, effectiveWeight, ...extra,
});

const shares = (servers: readonly PreviewServer[], canary: string[], share: number) =>
  Object.fromEntries(previewSplit(servers, new Set(canary), share).servers.map((row) => [row.id, `${row.arm} ${row.share}`]));

describe('rollout traffic preview', () => {
  it('gives the canary its share and the baseline the rest, each by effective weight', () => {
    expect(shares([server('b1', 3), server('b2', 1), server('c1')], ['c1'], 20)).to.deep.equal({ b1: 'baseline 60', b2: 'baseline 20', c1: 'canary 20' });
    expect(shares([server('b1'), server('c1', 1), server('c2', 4)], ['c1', 'c2'], 50)).to.deep.equal({ b1: 'baseline 50', c1: 'canary 10', c2: 'canary 40' });
  });

  const cases: Array<[string, PreviewServer[], number]> = [
    ['three even servers', [server('b1'), server('b2'), server('c1')], 33.33],
    ['slow start and a weight of 0', [server('b1', 2.5), server('b2', 0), server('c1', 0.3)], 7],
    ['a 100% step', [server('b1'), server('c1')], 100],
  ];
  for (const [name, servers, share] of cases) {
    it(`sums to 100 (${name})`, () => {
      const sum = previewSplit(servers, new Set(['c1']), share).servers.reduce((total, row) => total + row.share, 0);
      expect(sum).to.be.closeTo(100, 0.02);
    });
  }

  it('servers that take no new requests get nothing; an empty arm sends its part over the whole pool', () => {
    const disabled = [server('b1'), server('b2', 1, { eligible: false }), server('c1', 1, { eligible: false })];
    const preview = previewSplit(disabled, new Set(['c1']), 10);
    expect(preview.servers.map((row) => row.share)).to.deep.equal([100, 0, 0]);
    expect(preview.note).to.match(/no eligible canary server: its 10% goes over the whole pool/);
    expect(previewSplit([server('b1', 1, { eligible: false }), server('c1', 1, { eligible: false })], new Set(['c1']), 10).note).to.match(/requests would be refused/);
  });

  it('canaryOf: by ids (unknown ones ignored) or by all labels', () => {
    const servers = [server('b1'), server('c1'), server('c2', 1, { labels: { version: 'v2', zone: 'b' } })];
    expect([...canaryOf(servers, { ids: ['c1', 'nope'] })]).to.deep.equal(['c1']);
    expect([...canaryOf(servers, { label: { version: 'v2' } })]).to.deep.equal(['c1', 'c2']);
    expect([...canaryOf(servers, { label: { version: 'v2', zone: 'b' } })]).to.deep.equal(['c2']);
  });
});
