import { expect } from 'chai';
import { ConfigError } from '../../../middleware/errors.js';
import { normalizeDashboardOptions } from '../../../dashboard/options.js';

describe('dashboard options', () => {
  const auth = { username: 'ops', password: 'a-long-enough-pw' };

  it('fills every default', () => {
    const config = normalizeDashboardOptions({ auth });
    expect(config).to.deep.include({
      auth,
      tokens: [],
      authorize: null,
      insecure: false,
      loginLimit: { max: 10, windowMs: 60_000 },
      auditSize: 500,
      bodyLimit: 16 * 1024,
      updateIntervalMs: 1000,
      maxStreams: 100,
      title: 'switchyard',
      logger: null,
    });
  });

  it('requires authentication unless insecure: true is given', () => {
    for (const options of [undefined, {}, { insecure: false }]) {
      expect(() => normalizeDashboardOptions(options)).to.throw(ConfigError, /^dashboard\.auth: .*insecure: true/);
    }
    expect(normalizeDashboardOptions({ insecure: true }).insecure).to.equal(true);
    expect(normalizeDashboardOptions({ authorize: () => true }).authorize).to.be.a('function');
  });

  const bad: Array<[options: Record<string, unknown>, path: string]> = [
    [{ auth: 'ops:pw' }, 'dashboard.auth'],
    [{ auth: { username: 'ops' } }, 'dashboard.auth.password'],
    [{ auth: { username: '', password: 'a-long-enough-pw' } }, 'dashboard.auth.username'],
    [{ auth: { username: 'o:ps', password: 'a-long-enough-pw' } }, 'dashboard.auth.username'],
    [{ auth: { username: 'ops', password: 'a-long-enough-pw', realm: 'x' } }, 'dashboard.auth.realm'],
    [{ auth: { username: 'ops', password: 'x' } }, 'dashboard.auth.password'],
    [{ auth: { username: 'ops', password: '12345678901' } }, 'dashboard.auth.password'],
    [{ auth: { ...auth, tokens: { name: 'bot', token: 'x'.repeat(32) } } }, 'dashboard.auth.tokens'],
    [{ auth: { ...auth, tokens: ['x'.repeat(32)] } }, 'dashboard.auth.tokens[0]'],
    [{ auth: { ...auth, tokens: [{ token: 'x'.repeat(32) }] } }, 'dashboard.auth.tokens[0].name'],
    [{ auth: { ...auth, tokens: [{ name: 'bot', token: 'x'.repeat(31) }] } }, 'dashboard.auth.tokens[0].token'],
    [{ auth: { ...auth, tokens: [{ name: 'bot', token: 'x'.repeat(32), scope: 'all' }] } }, 'dashboard.auth.tokens[0].scope'],
    [{ auth: { ...auth, tokens: [{ name: 'bot', token: 'x'.repeat(32) }, { name: 'bot', token: 'y'.repeat(32) }] } }, 'dashboard.auth.tokens[1].name'],
    [{ auth: { ...auth, tokens: [{ name: 'a', token: 'x'.repeat(32) }, { name: 'b', token: 'x'.repeat(32) }] } }, 'dashboard.auth.tokens[1].token'],
    [{ authorize: 'yes' }, 'dashboard.authorize'],
    [{ auth, insecure: 'yes' }, 'dashboard.insecure'],
    [{ auth, loginLimit: { max: 0 } }, 'dashboard.loginLimit.max'],
    [{ auth, loginLimit: { windowMs: 10 } }, 'dashboard.loginLimit.windowMs'],
    [{ auth, auditSize: -1 }, 'dashboard.auditSize'],
    [{ auth, bodyLimit: 1.5 }, 'dashboard.bodyLimit'],
    [{ auth, updateIntervalMs: 0 }, 'dashboard.updateIntervalMs'],
    [{ auth, onAudit: {} }, 'dashboard.onAudit'],
    [{ auth, logger: { warn() {} } }, 'dashboard.logger'],
    [{ auth, titel: 'x' }, 'dashboard.titel'],
  ];
  for (const [options, path] of bad) {
    it(`names ${path} when it is wrong`, () => {
      expect(() => normalizeDashboardOptions(options)).to.throw(ConfigError).with.property('path', path);
    });
  }

  it('keeps bearer tokens apart from basic auth, which stays { username, password }', () => {
    const tokens = [{ name: 'deploy-bot', token: 'x'.repeat(32) }];
    const config = normalizeDashboardOptions({ auth: { ...auth, tokens } });
    expect(config.auth).to.deep.equal(auth);
    expect(config.tokens).to.deep.equal(tokens);
    expect(Object.isFrozen(config.tokens)).to.equal(true);
  });

  it('suggests the nearest known option', () => {
    expect(() => normalizeDashboardOptions({ auth, titel: 'x' })).to.throw(/Did you mean "title"/);
  });
});
