// Original file: proto/kiseki/v1/common.proto

export const FileKind = {
  FILE_KIND_UNSPECIFIED: 'FILE_KIND_UNSPECIFIED',
  FILE_KIND_FILE: 'FILE_KIND_FILE',
  FILE_KIND_DIR: 'FILE_KIND_DIR',
  FILE_KIND_SYMLINK: 'FILE_KIND_SYMLINK',
} as const;

export type FileKind =
  | 'FILE_KIND_UNSPECIFIED'
  | 0
  | 'FILE_KIND_FILE'
  | 1
  | 'FILE_KIND_DIR'
  | 2
  | 'FILE_KIND_SYMLINK'
  | 3

export type FileKind__Output = typeof FileKind[keyof typeof FileKind]
