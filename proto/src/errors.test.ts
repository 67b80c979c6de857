import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ERRORS, errnoOf, GrpcStatus, isErrorCode, KisekiError } from './errors.ts';

describe('error registry', () => {
  it('maps every code to one errno, one gRPC status and one HTTP status', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      expect(spec.errno, code).toBeGreaterThan(0);
      expect(Object.values(GrpcStatus)).toContain(spec.grpc);
      expect(spec.http, code).toBeGreaterThanOrEqual(400);
      expect(isErrorCode(code)).toBe(true);
    }
  });
  it('I-L8: EXDEV keeps its errno through KisekiError', () => {
    const e = new KisekiError('KISEKI_E_EXDEV', 'rename crosses shards');
    expect(errnoOf(e)).toBe(constants.errno.EXDEV);
    expect(e.grpcStatus).toBe(GrpcStatus.FAILED_PRECONDITION);
  });
  it('unknown failures become EIO', () => {
    expect(errnoOf(new Error('x'))).toBe(constants.errno.EIO);
    expect(isErrorCode('NOPE')).toBe(false);
  });
});
