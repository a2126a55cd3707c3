import { expect } from 'chai';
import { affinitySetCookie, readCookie, withoutCookie } from '../../../middleware/affinity/cookie-header.js';

describe('affinity cookie header', () => {
  describe('readCookie', () => {
    it('finds the cookie among others, and nothing when it is absent', () => {
      expect(readCookie('a=1; sy=abc_-; b=2', 'sy')).to.equal('abc_-');
      expect(readCookie('a=1; b=2', 'sy')).to.equal(undefined);
      expect(readCookie(undefined, 'sy')).to.equal(undefined);
      expect(readCookie('', 'sy')).to.equal(undefined);
    });

    it('does not take a cookie whose name merely ends or starts with the name', () => {
      expect(readCookie('xsy=1; sya=2', 'sy')).to.equal(undefined);
      expect(readCookie('xsy=1; sy=3', 'sy')).to.equal('3');
    });

    it('takes the first of repeated names, and never throws on odd headers', () => {
      expect(readCookie('sy=first; sy=second', 'sy')).to.equal('first');
      for (const odd of ['sy', 'sy=', '=sy', ';;;sy=;', 'sy="quoted"', 'sy=%E0%A4%A', 'sy=a=b=c']) {
        expect(() => readCookie(odd, 'sy')).to.not.throw();
      }
    });

    it('hands the value over verbatim (no percent-decoding)', () => {
      expect(readCookie('sy=a%20b', 'sy')).to.equal('a%20b');
    });
  });

  describe('withoutCookie', () => {
    it('removes every pair of that name and keeps the others byte for byte', () => {
      expect(withoutCookie('a=1; sy=x; b="q%20r"; sy=y;c=3', 'sy')).to.equal('a=1; b="q%20r"; c=3');
    });

    it('returns the same header when there is nothing to remove', () => {
      const header = 'a=1;b=2';
      expect(withoutCookie(header, 'sy')).to.equal(header);
      expect(withoutCookie('xsy=1; sya=2', 'sy')).to.equal('xsy=1; sya=2');
      expect(withoutCookie(undefined, 'sy')).to.equal(undefined);
    });

    it('returns undefined when the affinity cookie was all there was', () => {
      expect(withoutCookie('sy=x', 'sy')).to.equal(undefined);
      expect(withoutCookie(' sy=x ; sy=y ;', 'sy')).to.equal(undefined);
    });
  });

  describe('affinitySetCookie', () => {
    it('sets HttpOnly, SameSite=Lax, Path=/ and Max-Age from the TTL; Secure only for HTTPS', () => {
      const plain = affinitySetCookie('sy', 'v4lue_-', { ttlMs: 3_600_000, secure: false });
      expect(plain.split('; ').sort()).to.deep.equal(['HttpOnly', 'Max-Age=3600', 'Path=/', 'SameSite=Lax', 'sy=v4lue_-']);
      const secure = affinitySetCookie('sy', 'v', { ttlMs: 1500, secure: true });
      expect(secure.split('; ')).to.include.members(['Secure', 'Max-Age=1']);
    });
  });
});
