import { expect } from 'chai';
import { SESSION_BYTES } from '../../../middleware/affinity/cookie-value.js';
import { newSessionId } from '../../../middleware/affinity/session-ids.js';

describe('newSessionId', () => {
  it('hands out distinct ids of the session length, across refills of its buffer', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const id = newSessionId();
      expect(id.length).to.equal(SESSION_BYTES);
      seen.add(id.toString('hex'));
    }
    expect(seen.size).to.equal(2_000);
  });

  it('never changes an id already handed out when the buffer is refilled', () => {
    const first = newSessionId();
    const copy = Buffer.from(first);
    for (let i = 0; i < 1_100; i++) newSessionId();
    expect(first.equals(copy)).to.equal(true);
  });
});
