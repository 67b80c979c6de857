// Original file: proto/kiseki/v1/services.proto

export const DedupPolicy = {
  DEDUP_POLICY_UNSPECIFIED: 'DEDUP_POLICY_UNSPECIFIED',
  /**
   * chunk id = HMAC-SHA-256 under the tenant dedup key
   */
  DEDUP_POLICY_TENANT: 'DEDUP_POLICY_TENANT',
  /**
   * chunk id = SHA-256 of the plaintext
   */
  DEDUP_POLICY_GLOBAL: 'DEDUP_POLICY_GLOBAL',
} as const;

export type DedupPolicy =
  | 'DEDUP_POLICY_UNSPECIFIED'
  | 0
  /**
   * chunk id = HMAC-SHA-256 under the tenant dedup key
   */
  | 'DEDUP_POLICY_TENANT'
  | 1
  /**
   * chunk id = SHA-256 of the plaintext
   */
  | 'DEDUP_POLICY_GLOBAL'
  | 2

export type DedupPolicy__Output = typeof DedupPolicy[keyof typeof DedupPolicy]
