/**
 * The one registry of expected errors. Each code maps to exactly one errno (FUSE), one gRPC
 * status (wire) and one HTTP status (chunk transport, later S3). Messages say what happened and
 * what to do; they never carry key material (I-K8).
 */
import { constants as os } from 'node:os';

const E = os.errno;

/** gRPC status codes (numeric, so this module needs no gRPC import). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

interface ErrorSpec {
  readonly errno: number;
  readonly grpc: number;
  readonly http: number;
}

export const ERRORS = {
  KISEKI_E_NOENT: { errno: E.ENOENT, grpc: GrpcStatus.NOT_FOUND, http: 404 },
  KISEKI_E_EXIST: { errno: E.EEXIST, grpc: GrpcStatus.ALREADY_EXISTS, http: 409 },
  KISEKI_E_NOTDIR: { errno: E.ENOTDIR, grpc: GrpcStatus.FAILED_PRECONDITION, http: 409 },
  KISEKI_E_ISDIR: { errno: E.EISDIR, grpc: GrpcStatus.FAILED_PRECONDITION, http: 409 },
  KISEKI_E_NODATA: { errno: E.ENODATA, grpc: GrpcStatus.NOT_FOUND, http: 404 },
  KISEKI_E_MLINK: { errno: E.EMLINK, grpc: GrpcStatus.FAILED_PRECONDITION, http: 409 },
  KISEKI_E_RANGE: { errno: E.ERANGE, grpc: GrpcStatus.OUT_OF_RANGE, http: 400 },
  KISEKI_E_INTR: { errno: E.EINTR, grpc: GrpcStatus.CANCELLED, http: 499 },
  KISEKI_E_AGAIN: { errno: E.EAGAIN, grpc: GrpcStatus.FAILED_PRECONDITION, http: 409 },
  KISEKI_E_DEADLK: { errno: E.EDEADLK, grpc: GrpcStatus.ABORTED, http: 409 },
  KISEKI_E_NOLCK: { errno: E.ENOLCK, grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 429 },
  KISEKI_E_NOTEMPTY: { errno: E.ENOTEMPTY, grpc: GrpcStatus.FAILED_PRECONDITION, http: 409 },
  KISEKI_E_EXDEV: { errno: E.EXDEV, grpc: GrpcStatus.FAILED_PRECONDITION, http: 409 },
  KISEKI_E_INVAL: { errno: E.EINVAL, grpc: GrpcStatus.INVALID_ARGUMENT, http: 400 },
  KISEKI_E_NAMETOOLONG: { errno: E.ENAMETOOLONG, grpc: GrpcStatus.INVALID_ARGUMENT, http: 400 },
  KISEKI_E_TOOBIG: { errno: E.EFBIG, grpc: GrpcStatus.OUT_OF_RANGE, http: 413 },
  KISEKI_E_NOSPC: { errno: E.ENOSPC, grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 507 },
  KISEKI_E_CAPACITY_CRITICAL: { errno: E.ENOSPC, grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 507 },
  KISEKI_E_QUOTA: { errno: E.EDQUOT, grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 403 },
  KISEKI_E_PERM: { errno: E.EPERM, grpc: GrpcStatus.PERMISSION_DENIED, http: 403 },
  KISEKI_E_ACCES: { errno: E.EACCES, grpc: GrpcStatus.PERMISSION_DENIED, http: 403 },
  KISEKI_E_AUTH: { errno: E.EACCES, grpc: GrpcStatus.UNAUTHENTICATED, http: 401 },
  KISEKI_E_BADF: { errno: E.EBADF, grpc: GrpcStatus.INVALID_ARGUMENT, http: 400 },
  KISEKI_E_UNAVAILABLE: { errno: E.EIO, grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  KISEKI_E_TIMEOUT: { errno: E.ETIMEDOUT, grpc: GrpcStatus.DEADLINE_EXCEEDED, http: 504 },
  KISEKI_E_CORRUPT: { errno: E.EIO, grpc: GrpcStatus.DATA_LOSS, http: 500 },
  KISEKI_E_CRYPTO: { errno: E.EIO, grpc: GrpcStatus.DATA_LOSS, http: 500 },
  KISEKI_E_SHREDDED: { errno: E.EACCES, grpc: GrpcStatus.FAILED_PRECONDITION, http: 410 },
  KISEKI_E_PIN_EXPIRED: { errno: E.ESTALE, grpc: GrpcStatus.FAILED_PRECONDITION, http: 412 },
  KISEKI_E_BUSY: { errno: E.EBUSY, grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 429 },
  KISEKI_E_UNSUPPORTED: { errno: E.ENOTSUP, grpc: GrpcStatus.UNIMPLEMENTED, http: 501 },
  KISEKI_E_INTERNAL: { errno: E.EIO, grpc: GrpcStatus.INTERNAL, http: 500 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.hasOwn(ERRORS, s);
}

/** An expected failure with a stable code. Bugs are assertions, not KisekiErrors. */
export class KisekiError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KisekiError';
    this.code = code;
  }
  get errno(): number {
    return ERRORS[this.code].errno;
  }
  get grpcStatus(): number {
    return ERRORS[this.code].grpc;
  }
  get httpStatus(): number {
    return ERRORS[this.code].http;
  }
}

export function errnoOf(err: unknown): number {
  return err instanceof KisekiError ? err.errno : E.EIO;
}

/**
 * Assertion for our own bugs: stays on in production and crashes loudly, because continuing
 * past a broken invariant is how stored data gets corrupted.
 */
export function invariant(cond: unknown, what: string): asserts cond {
  if (!cond) throw new AssertionError(what);
}

export class AssertionError extends Error {
  constructor(what: string) {
    super(`kiseki invariant violated: ${what}`);
    this.name = 'AssertionError';
  }
}
