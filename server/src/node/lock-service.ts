/**
 * The Lock gRPC service: advisory locks of the caller's tenant (the tenant comes from the
 * session, never from the request: I-T1). Lock state lives in this node's LockTable.
 */
import type * as grpc from '@grpc/grpc-js';
import {
  KisekiError,
  type kisekiV1,
  type LockKind__Output,
  type LockRequest__Output,
  type LockType__Output,
  type UnlockRequest__Output,
} from '@kiseki/proto';
import type { Logger } from 'pino';
import { type LockKind, type LockRange, type LockRequest, LockTable } from '../composition/index.ts';
import { unary } from './grpc-util.ts';

const CLIENT_ID_RE = /^[0-9a-f]{16,64}$/;
const OWNER_BYTES_MAX = 64;

function kindOf(k: LockKind__Output | string): LockKind {
  return k === 'LOCK_KIND_FLOCK' ? 'flock' : 'posix';
}

/** Wire [start, start + length) with length 0 = to the end, as an inclusive range. */
function rangeOf(start: number, length: number): LockRange {
  if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(length) || length < 0)
    throw new KisekiError('KISEKI_E_INVAL', 'lock range out of bounds');
  return { start, end: length === 0 ? Number.POSITIVE_INFINITY : start + length - 1 };
}

function ids(client: string, owner: string): void {
  if (!CLIENT_ID_RE.test(client))
    throw new KisekiError('KISEKI_E_INVAL', 'lock client id must be 16-64 hex digits');
  if (owner.length === 0 || owner.length > OWNER_BYTES_MAX)
    throw new KisekiError('KISEKI_E_INVAL', 'lock owner must be 1-64 characters');
}

export function addLockService(
  server: grpc.Server,
  v1: ReturnType<typeof kisekiV1>,
  log: Logger,
  tenantOf: (call: { metadata: grpc.Metadata }) => string,
  table = new LockTable(),
): LockTable {
  const request = (r: LockRequest__Output, tenant: string): LockRequest => {
    ids(r.client, r.owner);
    return {
      tenant,
      ino: r.ino,
      kind: kindOf(r.kind),
      type: (r.type as LockType__Output) === 'LOCK_TYPE_WRITE' ? 'write' : 'read',
      client: r.client,
      owner: r.owner,
      pid: r.pid,
      wait: r.wait,
      reclaim: r.reclaim,
      ...rangeOf(r.start, r.length),
    };
  };
  server.addService(v1.Lock.service, {
    Acquire: unary(log, 'Lock.Acquire', async (r: LockRequest__Output, call) => {
      const granted = await table.acquire(request(r, tenantOf(call)));
      return { granted };
    }),
    Release: unary(log, 'Lock.Release', (r: UnlockRequest__Output, call) => {
      ids(r.client, r.owner);
      table.release(tenantOf(call), r.ino, kindOf(r.kind), r.client, r.owner, rangeOf(r.start, r.length));
      return {};
    }),
    Test: unary(log, 'Lock.Test', (r: LockRequest__Output, call) => {
      const l = table.test(request(r, tenantOf(call)));
      if (!l) return { conflict: false };
      return {
        conflict: true,
        type: l.type === 'write' ? 'LOCK_TYPE_WRITE' : 'LOCK_TYPE_READ',
        start: l.start,
        length: l.end === Number.POSITIVE_INFINITY ? 0 : l.end - l.start + 1,
        pid: l.pid,
      };
    }),
    Renew: unary(log, 'Lock.Renew', (r: { client: string }, call) => {
      tenantOf(call);
      ids(r.client, 'renew');
      return table.renew(r.client);
    }),
  });
  return table;
}
