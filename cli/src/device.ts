/**
 * `kiseki device add|list`: the node's raw devices, through the device admin call
 * (proto/src/device-admin.ts) with the admin token.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  DEVICE_CALL_PATH,
  type DeviceAdminRequest,
  type DeviceStatus,
  encodeDeviceAdmin,
  KisekiError,
} from '@kiseki/proto';
import { adminToken, caPath, serverAddress } from './home.ts';

const same = (b: Buffer) => b;

/** Sends one device admin request and returns its JSON reply; server errors keep their KISEKI code. */
export async function deviceCall<T>(
  home: string,
  server: string | undefined,
  req: DeviceAdminRequest,
): Promise<T> {
  const client = new grpc.Client(
    serverAddress(home, server),
    grpc.credentials.createSsl(readFileSync(caPath(home))),
  );
  const md = new grpc.Metadata();
  md.set('authorization', adminToken(home));
  try {
    return await new Promise<T>((resolve, reject) =>
      client.makeUnaryRequest<Buffer, Buffer>(
        DEVICE_CALL_PATH,
        same,
        same,
        encodeDeviceAdmin(req),
        md,
        { deadline: Date.now() + 120_000 }, // formatting wipes and syncs: allow for slow disks
        (err, res) => {
          if (!err) return resolve(JSON.parse(res!.toString('utf8')) as T);
          const code = err.metadata?.get('kiseki-code')[0];
          reject(
            new KisekiError(
              typeof code === 'string' ? (code as KisekiError['code']) : 'KISEKI_E_UNAVAILABLE',
              err.details.replace(/^KISEKI_E_\w+: /, ''),
            ),
          );
        },
      ),
    );
  } finally {
    client.close();
  }
}

export function formatDevices(devices: DeviceStatus[], fmtBytes: (n: number) => string): string {
  const rows = devices.map((d) => {
    const used = d.capacityBytes > 0 ? `${((100 * d.usedBytes) / d.capacityBytes).toFixed(1)}%` : '-';
    const note = d.error === undefined ? '' : `  (${d.error})`;
    return `${d.deviceUuid.slice(0, 8)}  ${d.state.padEnd(7)} ${d.deviceClass}  ${fmtBytes(d.capacityBytes).padStart(10)}  ${used.padStart(6)}  ${d.capacity.padEnd(8)} ${d.path}${note}`;
  });
  return [`DEVICE    STATE   CLASS   CAPACITY    USED  LEVEL    PATH`, ...rows].join('\n');
}
