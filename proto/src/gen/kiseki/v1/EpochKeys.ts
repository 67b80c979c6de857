// Original file: proto/kiseki/v1/services.proto


export interface EpochKeys {
  'epoch'?: (number);
  /**
   * tenant data key for this epoch, unwrapped from the tenant KEK
   */
  'tenantKey'?: (Buffer | Uint8Array | string);
  /**
   * system share of every chunk DEK of this tenant and epoch
   */
  'systemPart'?: (Buffer | Uint8Array | string);
}

export interface EpochKeys__Output {
  'epoch': (number);
  /**
   * tenant data key for this epoch, unwrapped from the tenant KEK
   */
  'tenantKey': (Buffer);
  /**
   * system share of every chunk DEK of this tenant and epoch
   */
  'systemPart': (Buffer);
}
