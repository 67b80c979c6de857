/** Deterministic payloads for the crash test, shared by the test and its child process. */
export function crashPayload(k: number): Buffer {
  const body = `crash-${k}-`.padEnd(16 + ((k * 37) % 400), String.fromCharCode(97 + (k % 26)));
  return Buffer.from(body);
}
