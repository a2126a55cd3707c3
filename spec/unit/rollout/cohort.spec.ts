import { expect } from 'chai';
import { cohortBucket, inCanary } from '../../../middleware/rollout/cohort.js';

describe('rollout cohorts', () => {
  it('hashes a key to a stable bucket in [0, 10000)', () => {
    const a = cohortBucket('user-42');
    expect(a).to.equal(cohortBucket('user-42'));
    expect(a).to.be.within(0, 9999);
    expect(cohortBucket(Buffer.from('user-42'))).to.equal(a);
  });

  it('spreads keys evenly: 5 % share takes about 5 % of users', () => {
    let canary = 0;
    for (let i = 0; i < 20_000; i++) if (inCanary(cohortBucket(`user-${i}`), 5)) canary++;
    expect(canary / 20_000).to.be.closeTo(0.05, 0.006);
  });

  it('raising the share only adds users', () => {
    const shares = [1, 5, 25, 50, 100];
    for (let i = 0; i < 5000; i++) {
      const bucket = cohortBucket(`session-${i}`);
      let was = false;
      for (const share of shares) {
        const now = inCanary(bucket, share);
        expect(was && !now, `user ${i} left the canary at ${share}%`).to.equal(false);
        was = now;
      }
      expect(was).to.equal(true);
    }
  });
});
