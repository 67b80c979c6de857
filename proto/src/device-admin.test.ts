import { describe, expect, it } from 'vitest';
import { decodeDeviceAdmin, encodeDeviceAdmin } from './device-admin.ts';

const inval = expect.objectContaining({ code: 'KISEKI_E_INVAL' });

describe('device admin request codec', () => {
  it('round-trips list and add', () => {
    expect(decodeDeviceAdmin(encodeDeviceAdmin({ op: 'list' }))).toEqual({ op: 'list' });
    expect(decodeDeviceAdmin(encodeDeviceAdmin({ op: 'remove', device: '/dev/loop3' }))).toEqual({
      op: 'remove',
      device: '/dev/loop3',
    });
    const add = {
      op: 'add' as const,
      path: '/dev/loop3',
      force: true,
      deviceClass: 'hdd' as const,
      blockSizeBytes: 8192,
    };
    expect(decodeDeviceAdmin(encodeDeviceAdmin(add))).toEqual(add);
  });

  it('refuses hostile or malformed requests as INVAL', () => {
    for (const bad of [
      'not json',
      'null',
      '[]',
      '{"op":"format"}',
      '{"op":"add"}',
      '{"op":"remove"}',
      '{"op":"remove","device":""}',
      '{"op":"add","path":"relative"}',
      '{"op":"add","path":"/dev/x\\u0000y"}',
      '{"op":"add","path":"/dev/x","force":"yes"}',
      '{"op":"add","path":"/dev/x","deviceClass":"nvme"}',
      '{"op":"add","path":"/dev/x","blockSizeBytes":1.5}',
    ]) {
      expect(() => decodeDeviceAdmin(Buffer.from(bad)), bad).toThrow(inval);
    }
  });
});
