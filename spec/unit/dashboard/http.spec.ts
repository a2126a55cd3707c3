import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formFields } from '../../../dashboard/api.js';
import { pathOfUrl, toRoot } from '../../../dashboard/http.js';
import { assetDirs, packageRoot } from '../../../dashboard/package-root.js';

describe('dashboard http helpers', () => {
  const req = (url: string) => ({ url }) as IncomingMessage;

  it('toRoot leads back to the page from any route, whatever the mount path', () => {
    expect(toRoot(req('/'))).to.equal('./');
    expect(toRoot(req('/events'))).to.equal('./');
    expect(toRoot(req('/api/pools/api/servers'))).to.equal('../../../');
    expect(toRoot(req('/api/pools/api/servers/a%2Fb/weight?x=1'))).to.equal('../../../../../');
    expect(new URL(toRoot(req('/api/pools/p/servers/s/drain')), 'http://h/any/mount/api/pools/p/servers/s/drain').pathname).to.equal('/any/mount/');
  });

  it('pathOfUrl drops the query', () => {
    expect(pathOfUrl('/a/b?c=/d')).to.equal('/a/b');
    expect(pathOfUrl('/a')).to.equal('/a');
  });

  it('formFields types form strings like JSON, leaving bad numbers for the action to refuse', () => {
    expect(formFields({ weight: '3', _csrf: 't', id: 'x', timeoutMs: '', backup: 'on' })).to.deep.equal({ weight: 3, id: 'x', backup: true });
    expect(formFields({ weight: '2.5' })).to.deep.equal({ weight: 2.5 });
    expect(formFields({ weight: '-1' })).to.deep.equal({ weight: '-1' });
    expect(formFields({ weight: '1e3' })).to.deep.equal({ weight: '1e3' });
  });

  describe('packageRoot', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'sy-root-'));
      mkdirSync(path.join(dir, 'dist', 'dashboard'), { recursive: true });
      writeFileSync(path.join(dir, 'package.json'), '{}');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('walks up to the nearest package.json, from sources and from dist/ alike', () => {
      expect(packageRoot(path.join(dir, 'dist', 'dashboard'))).to.equal(dir);
      expect(packageRoot(dir)).to.equal(dir);
      expect(assetDirs(dir)).to.deep.equal({ views: path.join(dir, 'views'), public: path.join(dir, 'dashboard', 'public') });
    });

    it('finds this package\'s views and static files', () => {
      const dirs = assetDirs();
      expect(existsSync(path.join(dirs.views, 'dashboard.ejs'))).to.equal(true);
      expect(existsSync(path.join(dirs.public, 'dashboard.js'))).to.equal(true);
    });

    it('throws when there is none', () => {
      expect(() => packageRoot(path.parse(dir).root)).to.throw(/no package.json/);
    });
  });
});
