/** What a TCP check's answer is read up to: enough for a banner or a status line. */
export const MAX_ANSWER_BYTES = 16 * 1024;

/**
 * Judge a TCP check's answer so far (HAProxy's `tcp-check expect string|rstring`): `true` passed,
 * `false` failed, `undefined` wait for more. A string must be what the answer starts with;
 * a RegExp must match the answer's text. With the connection closed (`final`), waiting is over.
 *
 * @example
 * judgeAnswer('+PONG', Buffer.from('+PONG\r\n'), false); // true
 * judgeAnswer('+PONG', Buffer.from('+PO'), false);       // undefined: more may come
 * judgeAnswer('+PONG', Buffer.from('-ERR'), false);      // false
 */
export function judgeAnswer(expect: string | RegExp, answer: Buffer, final: boolean): boolean | undefined {
  const full = final || answer.length >= MAX_ANSWER_BYTES;
  const text = answer.subarray(0, MAX_ANSWER_BYTES).toString('latin1');
  if (typeof expect === 'string') {
    const wanted = Buffer.from(expect, 'utf8').toString('latin1');
    if (text.length >= wanted.length) return text.startsWith(wanted);
    return !wanted.startsWith(text) || full ? false : undefined;
  }
  if (expect.test(answer.subarray(0, MAX_ANSWER_BYTES).toString('utf8'))) return true;
  return full ? false : undefined;
}

/** The start of an answer, printable, for a probe's reason. */
export function describeAnswer(answer: Buffer): string {
  const text = answer.subarray(0, 40).toString('latin1').replace(/[^\x20-\x7e]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : '.'));
  return answer.length === 0 ? 'nothing' : JSON.stringify(answer.length > 40 ? `${text}…` : text);
}
