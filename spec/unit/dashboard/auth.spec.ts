import { expect } from 'chai';
import { basicChecker, parseBasic } from '../../../dashboard/auth.js';
import { CsrfTokens } from '../../../dashboard/csrf.js';
import { LoginLimiter } from '../../../dashboard/login-limiter.js';

describe('dashboard auth', () => {
  describe('parseBasic', () => {
    const header = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

    it('splits at the first colon, so passwords may hold colons', () => {
      expect(parseBasic(header('ops:a:b:c'))).to.deep.equal({ username: 'ops', password: 'a:b:c' });
      expect(parseBasic(header('ops:'))).to.deep.equal({ username: 'ops', password: '' });
      expect(parseBasic(`basic ${Buffer.from('ops:pw').toString('base64')}`)).to.deep.equal({ username: 'ops', password: 'pw' });
    });

    it('reads UTF-8', () => {
      expect(parseBasic(header('jürgen:pässwörd'))).to.deep.equal({ username: 'jürgen', password: 'pässwörd' });
    });

    for (const bad of [undefined, '', 'Bearer abc', 'Basic', 'Basic !!!', header('no-colon')]) {
      it(`refuses ${JSON.stringify(bad)}`, () => expect(parseBasic(bad)).to.equal(undefined));
    }
  });

  describe('basicChecker', () => {
    const check = basicChecker('ops', 's3cret');

    it('needs both the user name and the password', () => {
      expect(check('ops', 's3cret')).to.equal(true);
      expect(check('ops', 's3cret ')).to.equal(false);
      expect(check('ops', 'S3cret')).to.equal(false);
      expect(check('Ops', 's3cret')).to.equal(false);
      expect(check('', '')).to.equal(false);
      expect(check('ops', 's3cret'.repeat(1000))).to.equal(false);
    });
  });

  describe('LoginLimiter', () => {
    it('blocks an address after max failures until its window ends', () => {
      const limiter = new LoginLimiter(3, 60_000);
      for (let i = 0; i < 3; i++) {
        expect(limiter.blockedFor('a', 1000 + i)).to.equal(0);
        limiter.fail('a', 1000 + i);
      }
      expect(limiter.blockedFor('a', 2000)).to.equal(59_000);
      expect(limiter.blockedFor('b', 2000)).to.equal(0);
      expect(limiter.blockedFor('a', 61_000)).to.equal(0);
      limiter.fail('a', 61_000);
      expect(limiter.blockedFor('a', 61_001)).to.equal(0);
    });

    it('forgets an address on a good login', () => {
      const limiter = new LoginLimiter(2, 60_000);
      limiter.fail('a', 0);
      limiter.succeed('a');
      limiter.fail('a', 1);
      expect(limiter.blockedFor('a', 2)).to.equal(0);
    });

    it('tracks a bounded number of addresses', () => {
      const limiter = new LoginLimiter(1, 60_000, 100);
      for (let i = 0; i < 1000; i++) limiter.fail(`10.0.${i >> 8}.${i & 255}`, 0);
      expect(limiter.blockedFor('10.0.3.231', 1)).to.be.above(0); // the newest are kept
      expect(limiter.blockedFor('10.0.0.0', 1)).to.equal(0);
    });
  });

  describe('CsrfTokens', () => {
    it('makes one token per user, valid only under its own key', () => {
      const tokens = new CsrfTokens();
      const token = tokens.tokenFor('ops');
      expect(token).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(tokens.verify('ops', token)).to.equal(true);
      expect(tokens.verify('alice', token)).to.equal(false);
      expect(new CsrfTokens().verify('ops', token)).to.equal(false);
      for (const bad of [undefined, '', token.slice(1), `${token}x`, ['x'], 42]) expect(tokens.verify('ops', bad)).to.equal(false);
    });
  });
});
