import { expect } from 'chai';
import { parseBearer, tokenChecker } from '../../../dashboard/tokens.js';

describe('dashboard bearer tokens', () => {
  const a = 'a'.repeat(32);
  const b = 'b'.repeat(40);

  it('answers the name of the token given, and nothing for any other string', () => {
    const check = tokenChecker([{ name: 'deploy-bot', token: a }, { name: 'ci', token: b }]);
    expect(check(a)).to.equal('deploy-bot');
    expect(check(b)).to.equal('ci');
    for (const other of ['', 'a', a.slice(1), `${a}a`, a.toUpperCase()]) expect(check(other), other).to.equal(undefined);
  });

  it('reads only `Bearer <token>` from the Authorization header', () => {
    expect(parseBearer(`Bearer ${a}`)).to.equal(a);
    expect(parseBearer('bearer abc-._~+/9==')).to.equal('abc-._~+/9==');
    for (const header of [undefined, '', 'Bearer', 'Bearer ', `Basic ${a}`, 'Bearer a b', 'Bearer a"b']) expect(parseBearer(header), String(header)).to.equal(undefined);
  });
});
