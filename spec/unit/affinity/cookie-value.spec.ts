import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import {
  MAX_TOKENS, MAX_VALUE_LENGTH, SESSION_BYTES, TOKEN_BYTES, serverToken, signValue, verifyValue, type AffinityValue,
} from '../../../middleware/affinity/cookie-value.js';

const SECRET = 'current-secret-0123456789';
const OLD = 'previous-secret-0123456789';
const NOW = 1_700_000_000_000;

function value(overrides: Partial<AffinityValue> = {}): AffinityValue {
  return { session: randomBytes(SESSION_BYTES), expiresAt: NOW + 3_600_000, tokens: [serverToken(SECRET, 'api', 'api-1')], ...overrides };
}

/** Flip one bit of the decoded bytes at `index` (negative: from the end), re-encode. */
function flip(text: string, index: number): string {
  const bytes = Buffer.from(text, 'base64url');
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = bytes[at]! ^ 0x01;
  return bytes.toString('base64url');
}

describe('affinity cookie value', () => {
  it('round-trips session, expiry (whole seconds) and tokens, signed by the current secret', () => {
    const original = value({ expiresAt: NOW + 1234, tokens: [serverToken(SECRET, 'api', 'a'), serverToken(SECRET, 'web', 'w')] });
    const verified = verifyValue(signValue(original, SECRET), [SECRET, OLD], NOW);
    expect(verified).to.not.equal(undefined);
    expect(verified!.keyIndex).to.equal(0);
    expect(verified!.value.session.equals(original.session)).to.equal(true);
    expect(verified!.value.expiresAt).to.equal(Math.floor((NOW + 1234) / 1000) * 1000);
    expect(verified!.value.tokens.map((t) => t.toString('hex'))).to.deep.equal(original.tokens.map((t) => t.toString('hex')));
  });

  it('accepts a value signed by a previous secret while it is listed (rotation), and only then', () => {
    const text = signValue(value(), OLD);
    expect(verifyValue(text, [SECRET, OLD], NOW)?.keyIndex).to.equal(1);
    expect(verifyValue(text, [SECRET], NOW)).to.equal(undefined);
  });

  describe('refuses, returning undefined and never throwing:', () => {
    const good = signValue(value(), SECRET);
    const cases: Array<[string, unknown, number?]> = [
      ['a tampered signature', flip(good, -1)],
      ['a tampered body (a token bit)', flip(good, -17)],
      ['a tampered expiry', flip(good, 1 + SESSION_BYTES + 3)],
      ['a wrong secret', signValue(value(), 'some-other-secret-entirely')],
      ['an expired value', good, NOW + 3_600_000],
      ['malformed base64 (a dot)', `${good.slice(0, 10)}.${good.slice(11)}`],
      ['malformed base64 (padding)', `${good}=`],
      ['malformed base64 (a "+" from the plain base64 alphabet)', `${good.slice(0, 5)}+${good.slice(6)}`],
      ['whitespace', ` ${good}`],
      ['an empty value', ''],
      ['a too-short value', good.slice(0, 20)],
      ['a length that is not a whole token', Buffer.concat([Buffer.from(good, 'base64url'), Buffer.alloc(3)]).toString('base64url')],
      ['a huge value', 'A'.repeat(MAX_VALUE_LENGTH + 1)],
      ['an unknown version', (() => { const b = Buffer.from(good, 'base64url'); b[0] = 2; return b.toString('base64url'); })()],
      ['not a string', 42],
      ['undefined', undefined],
    ];
    for (const [name, text, now] of cases) {
      it(name, () => {
        expect(() => verifyValue(text, [SECRET, OLD], now ?? NOW)).to.not.throw();
        expect(verifyValue(text, [SECRET, OLD], now ?? NOW)).to.equal(undefined);
      });
    }

    it(`more than ${MAX_TOKENS} tokens`, () => {
      // signValue drops extras, so build the over-long value by hand and sign it the same way
      const nine = value({ tokens: Array.from({ length: MAX_TOKENS }, (_, i) => serverToken(SECRET, 'p', String(i))) });
      const bytes = Buffer.from(signValue(nine, SECRET), 'base64url');
      const longer = Buffer.concat([bytes.subarray(0, bytes.length - 16), Buffer.alloc(TOKEN_BYTES), bytes.subarray(bytes.length - 16)]);
      expect(verifyValue(longer.toString('base64url'), [SECRET], NOW)).to.equal(undefined);
    });
  });

  it('refuses a huge value before touching any secret (no HMAC work)', () => {
    let touched = 0;
    const keys: string[] = [];
    Object.defineProperty(keys, 0, { get: () => (touched++, SECRET), enumerable: true });
    const huge = signValue(value({ tokens: Array.from({ length: 8 }, () => randomBytes(TOKEN_BYTES)) }), SECRET).repeat(6);
    expect(huge.length).to.be.greaterThan(MAX_VALUE_LENGTH);
    expect(verifyValue(huge, keys, NOW)).to.equal(undefined);
    expect(touched).to.equal(0);
    // the same keys array does get used for a well-formed value, so the count above can move
    verifyValue(signValue(value(), SECRET), keys, NOW);
    expect(touched).to.be.greaterThan(0);
  });

  it('survives random garbage', () => {
    for (let i = 0; i < 2000; i++) {
      const text = randomBytes(i % 120).toString(i % 3 === 0 ? 'base64url' : i % 3 === 1 ? 'latin1' : 'hex');
      expect(verifyValue(text, [SECRET, OLD], NOW)).to.equal(undefined);
    }
  });

  it('reveals no server id, pool, address or URL', () => {
    const id = 'api-server-1';
    const url = 'http://10.1.2.3:4001';
    const text = signValue(value({ tokens: [serverToken(SECRET, 'api', id)] }), SECRET);
    const bytes = Buffer.from(text, 'base64url');
    for (const secretPart of [id, 'api', url, '10.1.2.3', '4001']) {
      expect(text).to.not.include(secretPart);
      expect(bytes.includes(Buffer.from(secretPart))).to.equal(false, secretPart);
      expect(text).to.not.include(Buffer.from(secretPart).toString('base64url'));
    }
  });

  it('makes tokens that differ by pool, server and secret, and never by call', () => {
    const token = serverToken(SECRET, 'api', 'a');
    expect(token.length).to.equal(TOKEN_BYTES);
    expect(serverToken(SECRET, 'api', 'a').equals(token)).to.equal(true);
    expect(serverToken(SECRET, 'web', 'a').equals(token)).to.equal(false);
    expect(serverToken(SECRET, 'api', 'b').equals(token)).to.equal(false);
    expect(serverToken(OLD, 'api', 'a').equals(token)).to.equal(false);
    // the separator keeps ("ap", "i\0a") and ("api", "a") apart
    expect(serverToken(SECRET, 'ap', 'i').equals(serverToken(SECRET, 'a', 'pi'))).to.equal(false);
  });

  it('gives two sessions on the same server different values', () => {
    expect(signValue(value(), SECRET)).to.not.equal(signValue(value(), SECRET));
  });
});
