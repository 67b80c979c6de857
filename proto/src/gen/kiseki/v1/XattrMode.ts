// Original file: proto/kiseki/v1/delta.proto

export const XattrMode = {
  /**
   * create or replace
   */
  XATTR_MODE_SET: 'XATTR_MODE_SET',
  /**
   * fail with EXIST if present (XATTR_CREATE)
   */
  XATTR_MODE_CREATE: 'XATTR_MODE_CREATE',
  /**
   * fail with NODATA if absent (XATTR_REPLACE)
   */
  XATTR_MODE_REPLACE: 'XATTR_MODE_REPLACE',
  XATTR_MODE_REMOVE: 'XATTR_MODE_REMOVE',
} as const;

export type XattrMode =
  /**
   * create or replace
   */
  | 'XATTR_MODE_SET'
  | 0
  /**
   * fail with EXIST if present (XATTR_CREATE)
   */
  | 'XATTR_MODE_CREATE'
  | 1
  /**
   * fail with NODATA if absent (XATTR_REPLACE)
   */
  | 'XATTR_MODE_REPLACE'
  | 2
  | 'XATTR_MODE_REMOVE'
  | 3

export type XattrMode__Output = typeof XattrMode[keyof typeof XattrMode]
