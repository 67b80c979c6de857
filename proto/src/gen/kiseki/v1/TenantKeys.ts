// Original file: proto/kiseki/v1/services.proto

import type { EpochKeys as _kiseki_v1_EpochKeys, EpochKeys__Output as _kiseki_v1_EpochKeys__Output } from '../../kiseki/v1/EpochKeys.ts';

export interface TenantKeys {
  'currentEpoch'?: (number);
  'epochs'?: (_kiseki_v1_EpochKeys)[];
  /**
   * clients drop unwrapped keys after this long (bounds crypto-shred, I-K5)
   */
  'cacheTtlMs'?: (number);
}

export interface TenantKeys__Output {
  'currentEpoch': (number);
  'epochs': (_kiseki_v1_EpochKeys__Output)[];
  /**
   * clients drop unwrapped keys after this long (bounds crypto-shred, I-K5)
   */
  'cacheTtlMs': (number);
}
