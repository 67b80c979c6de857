// Original file: proto/kiseki/v1/services.proto

import type { Attr as _kiseki_v1_Attr, Attr__Output as _kiseki_v1_Attr__Output } from '../../kiseki/v1/Attr.ts';

export interface DirEntry {
  'nameToken'?: (Buffer | Uint8Array | string);
  /**
   * sealed EntryPayload with the name
   */
  'payload'?: (Buffer | Uint8Array | string);
  'attr'?: (_kiseki_v1_Attr | null);
}

export interface DirEntry__Output {
  'nameToken': (Buffer);
  /**
   * sealed EntryPayload with the name
   */
  'payload': (Buffer);
  'attr': (_kiseki_v1_Attr__Output | null);
}
