// Original file: proto/kiseki/v1/services.proto

export const LockType = {
  LOCK_TYPE_READ: 'LOCK_TYPE_READ',
  LOCK_TYPE_WRITE: 'LOCK_TYPE_WRITE',
} as const;

export type LockType =
  | 'LOCK_TYPE_READ'
  | 0
  | 'LOCK_TYPE_WRITE'
  | 1

export type LockType__Output = typeof LockType[keyof typeof LockType]
