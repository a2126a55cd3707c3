import { expect } from 'chai';
import { hasSegmentPrefix, normalizePath } from '../../../middleware/routing/normalize.js';

describe('routing/normalize', () => {
  const cases: Array<[string, string]> = [
    ['/api/users', '/api/users'],
    ['/api/../admin', '/admin'],
    ['/api/%2e%2e/admin', '/admin'],
    ['/api/%2E%2E/admin', '/admin'],
    ['//admin', '/admin'],
    ['/a//b///c', '/a/b/c'],
    ['/a/./b/.', '/a/b/'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a/b/..', '/a/'],
    ['/%61pi/x', '/api/x'],
    ['/files/a%2Fb', '/files/a%2Fb'], // an encoded slash stays encoded: decoding it would add a segment
    ['/files/a%2fb', '/files/a%2Fb'],
    ['/caf%C3%A9', '/caf%C3%A9'],
    ['', '/'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${expected}`, () => expect(normalizePath(input)).to.equal(expected));
  }

  it('matches prefixes at segment boundaries only', () => {
    expect(hasSegmentPrefix('/api', '/api')).to.equal(true);
    expect(hasSegmentPrefix('/api/x', '/api')).to.equal(true);
    expect(hasSegmentPrefix('/apix', '/api')).to.equal(false);
    expect(hasSegmentPrefix('/anything', '/')).to.equal(true);
  });
});
