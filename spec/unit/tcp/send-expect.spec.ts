import { expect } from 'chai';
import { describeAnswer, judgeAnswer, MAX_ANSWER_BYTES } from '../../../middleware/tcp/send-expect.js';

describe('TCP check answers (send/expect)', () => {
  const cases: Array<[string | RegExp, string, boolean, boolean | undefined]> = [
    ['+PONG', '+PONG\r\n', false, true],
    ['+PONG', '+PO', false, undefined],
    ['+PONG', '+PO', true, false],
    ['+PONG', '-ERR unknown command', false, false],
    ['+PONG', '-', false, false],
    ['+PONG', '', true, false],
    [/^\+PONG\r\n$/, '+PONG\r\n', false, true],
    [/role:master/, '$20\r\n# Replication\r\nrole:slave', false, undefined],
    [/role:master/, '$20\r\n# Replication\r\nrole:slave', true, false],
    [/OK/i, 'ok\r\n', false, true],
  ];
  for (const [expectation, answer, final, verdict] of cases) {
    it(`${String(expectation)} against ${JSON.stringify(answer)}${final ? ' (closed)' : ''} → ${String(verdict)}`, () => {
      expect(judgeAnswer(expectation, Buffer.from(answer), final)).to.equal(verdict);
    });
  }

  it('gives up waiting once the answer is longer than it reads', () => {
    expect(judgeAnswer(/never/, Buffer.alloc(MAX_ANSWER_BYTES, 'a'), false)).to.equal(false);
  });

  it('describes an answer printably', () => {
    expect(describeAnswer(Buffer.from('-ERR\r\n'))).to.equal('"-ERR\\\\r\\\\n"');
    expect(describeAnswer(Buffer.alloc(0))).to.equal('nothing');
  });
});
