/** Deterministic extent payloads for the allocator kill test: seed → bytes and owner tag. */
export function payloadOf(seed: number): { payload: Buffer; owner: Buffer } {
  const payload = Buffer.alloc(1000 + ((seed * 7919) % 200_000), seed & 0xff);
  payload.writeUInt32LE(seed, 0);
  const owner = Buffer.alloc(16);
  owner.writeUInt32LE(seed, 0);
  return { payload, owner };
}
