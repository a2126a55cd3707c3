import { expect } from 'chai';
import { InFlightList, unlinked, type InFlight } from '../../../middleware/pool/in-flight.js';

function item(name: string): InFlight & { name: string } {
  return { name, abort: () => {}, ...unlinked() };
}

describe('pool/in-flight', () => {
  it('adds and removes from anywhere, counting', () => {
    const list = new InFlightList();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(item) as [ReturnType<typeof item>, ReturnType<typeof item>, ReturnType<typeof item>, ReturnType<typeof item>];
    for (const x of [a, b, c, d]) list.add(x);
    expect(list.size).to.equal(4);
    expect(list.delete(c)).to.equal(true); // middle
    expect(list.delete(d)).to.equal(true); // head
    expect(list.delete(a)).to.equal(true); // tail
    expect(list.toArray().map((x) => (x as ReturnType<typeof item>).name)).to.deep.equal(['b']);
    expect(list.size).to.equal(1);
  });

  it('refuses to remove twice, or from another list', () => {
    const one = new InFlightList();
    const other = new InFlightList();
    const x = item('x');
    one.add(x);
    expect(other.delete(x)).to.equal(false);
    expect(one.delete(x)).to.equal(true);
    expect(one.delete(x)).to.equal(false);
    expect(one.size).to.equal(0);
    expect(one.toArray()).to.deep.equal([]);
  });
});
