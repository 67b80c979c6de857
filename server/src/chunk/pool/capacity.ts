/**
 * Capacity thresholds (I-C5): a device at Critical takes no new placements (SSD at 85% used,
 * HDD at 92%); Full means a write does not fit at all (ENOSPC). Pure.
 */
import type { DeviceClass } from './policy.ts';

export const CRITICAL_RATIO: Readonly<Record<DeviceClass, number>> = { ssd: 0.85, hdd: 0.92 };
/** Warning starts this far below Critical, so admins see it coming. */
export const WARNING_MARGIN = 0.1;

export type CapacityState = 'ok' | 'warning' | 'critical' | 'full';

/** State of a device of `capacityBytes` with `usedBytes` used, for a write of `writeBytes` (default 0). */
export function capacityState(
  usedBytes: number,
  capacityBytes: number,
  deviceClass: DeviceClass,
  writeBytes = 0,
): CapacityState {
  if (capacityBytes <= 0 || usedBytes >= capacityBytes || usedBytes + writeBytes > capacityBytes)
    return 'full';
  const ratio = usedBytes / capacityBytes;
  const critical = CRITICAL_RATIO[deviceClass];
  if (ratio >= critical) return 'critical';
  if (ratio >= critical - WARNING_MARGIN) return 'warning';
  return 'ok';
}
