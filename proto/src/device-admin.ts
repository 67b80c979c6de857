/**
 * The device admin call: what `kiseki device add|list|remove` sends to a kiseki-server. One unary
 * method at DEVICE_CALL_PATH; the request and the reply are JSON; calls carry the admin token
 * as `authorization`. Requests are validated here (hostile input → KISEKI_E_INVAL).
 */
import { KisekiError } from './errors.ts';

export const DEVICE_CALL_PATH = '/kiseki.device.v1.Device/Call';

export type DeviceAdminRequest =
  | { op: 'list' }
  /** Unregister a device (its uuid or path); refused while it holds extents. */
  | { op: 'remove'; device: string }
  | {
      op: 'add';
      /** A block device or a preallocated file, as the server sees it. */
      path: string;
      /** Format over an existing Kiseki device or filesystem signature (destroys it). */
      force?: boolean;
      deviceClass?: 'ssd' | 'hdd';
      blockSizeBytes?: number;
    };

export interface DeviceStatus {
  deviceUuid: string;
  path: string;
  kind: 'block' | 'file';
  deviceClass: 'ssd' | 'hdd';
  /** 'missing': registered but not openable now (see `error`). */
  state: 'active' | 'missing';
  blockSizeBytes: number;
  /** Bytes extents can use (device size less superblock and both bitmap copies). */
  capacityBytes: number;
  usedBytes: number;
  /** I-C5 state for the device class: ok, warning, critical or full. */
  capacity: 'ok' | 'warning' | 'critical' | 'full';
  addedAtMs: number;
  error?: string;
}

export function encodeDeviceAdmin(req: DeviceAdminRequest): Buffer {
  return Buffer.from(JSON.stringify(req), 'utf8');
}

/** Parses and checks a request; anything malformed → KISEKI_E_INVAL. */
export function decodeDeviceAdmin(body: Uint8Array): DeviceAdminRequest {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new KisekiError('KISEKI_E_INVAL', 'device admin request is not JSON');
  }
  const r = v as Record<string, unknown>;
  if (typeof v !== 'object' || v === null)
    throw new KisekiError('KISEKI_E_INVAL', 'device admin request is not an object');
  if (r.op === 'list') return { op: 'list' };
  if (r.op === 'remove') {
    if (
      typeof r.device !== 'string' ||
      r.device.length === 0 ||
      r.device.length > 4096 ||
      r.device.includes('\0')
    ) {
      throw new KisekiError('KISEKI_E_INVAL', 'remove needs a device uuid or path');
    }
    return { op: 'remove', device: r.device };
  }
  if (r.op !== 'add')
    throw new KisekiError('KISEKI_E_INVAL', `unknown device admin op ${JSON.stringify(r.op)}`);
  if (
    typeof r.path !== 'string' ||
    !r.path.startsWith('/') ||
    r.path.length > 4096 ||
    r.path.includes('\0')
  ) {
    throw new KisekiError('KISEKI_E_INVAL', 'device path must be an absolute path');
  }
  if (r.force !== undefined && typeof r.force !== 'boolean')
    throw new KisekiError('KISEKI_E_INVAL', 'force must be a boolean');
  if (r.deviceClass !== undefined && r.deviceClass !== 'ssd' && r.deviceClass !== 'hdd') {
    throw new KisekiError('KISEKI_E_INVAL', 'device class must be ssd or hdd');
  }
  if (r.blockSizeBytes !== undefined && !Number.isSafeInteger(r.blockSizeBytes)) {
    throw new KisekiError('KISEKI_E_INVAL', 'block size must be an integer');
  }
  return {
    op: 'add',
    path: r.path,
    ...(r.force === undefined ? {} : { force: r.force as boolean }),
    ...(r.deviceClass === undefined ? {} : { deviceClass: r.deviceClass as 'ssd' | 'hdd' }),
    ...(r.blockSizeBytes === undefined ? {} : { blockSizeBytes: r.blockSizeBytes as number }),
  };
}
