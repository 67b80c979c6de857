/** Block layer: device backends (files, raw block devices with O_DIRECT) and the allocation bitmap (I-C7, I-C8). */

export { DeviceAllocator, type ExtentRef, type RecoveryReport } from './allocator.ts';
export {
  BITMAP_PAGE_BYTES_DEFAULT,
  type BitmapPage,
  BlockBitmap,
  type BlockBitmapOptions,
  type Extent,
} from './bitmap.ts';
export {
  assertAligned,
  type DeviceBackend,
  FileDevice,
  type FileDeviceCreateOptions,
  ioError,
} from './device.ts';
export {
  type DeviceGeometry,
  DirectDevice,
  type DirectDeviceFormatOptions,
  directBuffer,
  probeGeometry,
} from './direct-device.ts';
export { MemoryDevice, type MemoryDeviceOptions } from './memory-device.ts';
export { findSignature } from './signatures.ts';
export {
  decodeSuperblock,
  encodeSuperblock,
  SUPERBLOCK_BYTES,
  SUPERBLOCK_MAGIC,
  SUPERBLOCK_VERSION,
  type Superblock,
} from './superblock.ts';
