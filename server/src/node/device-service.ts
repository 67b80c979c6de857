/**
 * The device admin service (`kiseki device add|list|remove`): one unary method at DEVICE_CALL_PATH,
 * JSON in and out (proto/src/device-admin.ts), admin token required.
 */
import type * as grpc from '@grpc/grpc-js';
import { DEVICE_CALL_PATH, decodeDeviceAdmin } from '@kiseki/proto';
import type { Logger } from 'pino';
import type { DeviceRegistry } from '../chunk/pool/index.ts';
import { toServiceError } from './grpc-util.ts';

const identity = (b: Buffer) => b;
const DEVICE_SERVICE: grpc.ServiceDefinition = {
  Call: {
    path: DEVICE_CALL_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export function addDeviceService(
  server: grpc.Server,
  registry: DeviceRegistry,
  authenticate: (md: grpc.Metadata) => void,
  log: Logger,
): void {
  server.addService(DEVICE_SERVICE, {
    Call: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      Promise.resolve()
        .then(async () => {
          authenticate(call.metadata);
          const req = decodeDeviceAdmin(call.request);
          if (req.op === 'list') return { devices: registry.list() };
          if (req.op === 'remove') {
            const device = await registry.remove(req.device);
            log.info({ path: device.path, deviceUuid: device.deviceUuid }, 'device removed');
            return { device };
          }
          const { path, op: _op, ...opts } = req;
          const device = await registry.add(path, opts);
          log.info({ path, deviceUuid: device.deviceUuid }, 'device added');
          return { device };
        })
        .then(
          (res) => cb(null, Buffer.from(JSON.stringify(res), 'utf8')),
          (err) => cb(toServiceError(err, log, 'Device.Call') as grpc.ServiceError),
        );
    },
  });
}
