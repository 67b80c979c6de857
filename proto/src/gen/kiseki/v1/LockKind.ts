// Original file: proto/kiseki/v1/services.proto

export const LockKind = {
  LOCK_KIND_POSIX: 'LOCK_KIND_POSIX',
  LOCK_KIND_FLOCK: 'LOCK_KIND_FLOCK',
} as const;

export type LockKind =
  | 'LOCK_KIND_POSIX'
  | 0
  | 'LOCK_KIND_FLOCK'
  | 1

export type LockKind__Output = typeof LockKind[keyof typeof LockKind]
