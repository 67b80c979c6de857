/**
 * The node's devices: what `kiseki device add|list|remove` manages. Each device is a DirectDevice
 * (raw block device or preallocated file, O_DIRECT) carrying a DeviceAllocator; the list of
 * paths is persisted in `<dir>/registry.json` (written to a temp file, fsync'ed, renamed, the
 * directory fsync'ed), and at open every device is reopened and its allocator recovered from
 * the on-device bitmap (I-C8). A device that cannot be opened stays listed as 'missing' with
 * the reason, so a lost disk is visible rather than silently dropped.
 *
 * Not yet used for chunk data: the chunk store still writes its own device file (ADR 0010).
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { DeviceStatus } from '@kiseki/proto';
import { KisekiError } from '@kiseki/proto';
import { DeviceAllocator, DirectDevice } from '../../block/index.ts';
import { capacityState } from './capacity.ts';
import type { DeviceClass } from './policy.ts';
import { localDevice, type PieceDevice } from './pool-store.ts';

/** Devices one node registers. */
export const DEVICES_MAX = 256;
const REGISTRY_FILE = 'registry.json';
const REGISTRY_VERSION = 1;

interface DeviceRecord {
  readonly deviceUuid: string;
  readonly path: string;
  readonly deviceClass: DeviceClass;
  readonly addedAtMs: number;
}

interface Entry {
  readonly record: DeviceRecord;
  readonly allocator?: DeviceAllocator;
  readonly device?: DirectDevice;
  readonly error?: string;
}

export interface AddDeviceOptions {
  force?: boolean;
  deviceClass?: DeviceClass;
  blockSizeBytes?: number;
}

export class DeviceRegistry {
  private readonly entries: Entry[] = [];
  /** Serialises add and remove (format or close + persist). */
  private adding: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly inUse: ReadonlySet<string>,
  ) {}

  /**
   * Loads the registry and reopens every device; never fails for one bad device. `inUse` lists
   * paths the node already uses otherwise (the chunk store's device file): `add` refuses them
   * even with force.
   */
  static async open(dir: string, opts: { inUse?: readonly string[] } = {}): Promise<DeviceRegistry> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const reg = new DeviceRegistry(dir, new Set((opts.inUse ?? []).map((p) => resolvePath(p))));
    let records: DeviceRecord[] = [];
    try {
      const parsed = JSON.parse(await readFile(join(dir, REGISTRY_FILE), 'utf8')) as {
        version: number;
        devices: DeviceRecord[];
      };
      if (parsed.version !== REGISTRY_VERSION) {
        throw new KisekiError(
          'KISEKI_E_UNSUPPORTED',
          `device registry version ${parsed.version} is not supported`,
        );
      }
      records = parsed.devices;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const record of records) reg.entries.push(await openEntry(record));
    return reg;
  }

  /**
   * Formats `path` (refusing signatures unless `force`, see DirectDevice.format), puts an empty
   * allocator on it and registers it durably. A path already registered → KISEKI_E_EXIST.
   */
  add(path: string, opts: AddDeviceOptions = {}): Promise<DeviceStatus> {
    const run = this.adding.then(() => this.addNow(resolvePath(path), opts));
    this.adding = run.catch(() => undefined);
    return run;
  }

  /**
   * Unregisters a device by uuid or path (durably) and closes it. A device holding extents →
   * KISEKI_E_NOTEMPTY (evacuate it first); unknown → KISEKI_E_NOENT. A missing device can be
   * removed (forgotten).
   */
  remove(device: string): Promise<DeviceStatus> {
    const run = this.adding.then(async () => {
      const i = this.entries.findIndex(
        (e) => e.record.deviceUuid === device || e.record.path === resolvePath(device),
      );
      const e = this.entries[i];
      if (e === undefined) throw new KisekiError('KISEKI_E_NOENT', `${device} is not a device of this node`);
      const status = statusOf(e);
      if (status.usedBytes > 0) {
        throw new KisekiError(
          'KISEKI_E_NOTEMPTY',
          `${e.record.path} holds ${status.usedBytes} bytes of extents; evacuate it before removing it`,
        );
      }
      await this.persist(this.entries.filter((_, j) => j !== i).map((x) => x.record));
      this.entries.splice(i, 1);
      await e.allocator?.close();
      return status;
    });
    this.adding = run.catch(() => undefined);
    return run;
  }

  /** The active devices as pool devices of node `nodeId` (for a PoolStore). */
  pieceDevices(nodeId: string): PieceDevice[] {
    return this.entries.flatMap((e) =>
      e.allocator === undefined ? [] : [localDevice(e.record.deviceUuid, nodeId, e.allocator)],
    );
  }

  list(): DeviceStatus[] {
    return this.entries.map(statusOf);
  }

  async close(): Promise<void> {
    await this.adding;
    for (const e of this.entries) await e.allocator?.close();
  }

  private async addNow(path: string, opts: AddDeviceOptions): Promise<DeviceStatus> {
    if (this.inUse.has(path)) {
      throw new KisekiError(
        'KISEKI_E_BUSY',
        `${path} is in use by this node (its chunk store); pick another device`,
      );
    }
    if (this.entries.some((e) => e.record.path === path)) {
      throw new KisekiError('KISEKI_E_EXIST', `${path} is already a device of this node`);
    }
    if (this.entries.length >= DEVICES_MAX) {
      throw new KisekiError('KISEKI_E_NOSPC', `this node already has ${DEVICES_MAX} devices`);
    }
    const device = await DirectDevice.format(path, {
      ...(opts.force === undefined ? {} : { force: opts.force }),
      ...(opts.blockSizeBytes === undefined ? {} : { blockSizeBytes: opts.blockSizeBytes }),
    });
    let allocator: DeviceAllocator;
    try {
      allocator = await DeviceAllocator.format(device);
    } catch (err) {
      await device.close();
      throw err;
    }
    const record: DeviceRecord = {
      deviceUuid: device.deviceUuid,
      path,
      deviceClass: opts.deviceClass ?? 'ssd',
      addedAtMs: Date.now(),
    };
    const entry: Entry = { record, allocator, device };
    try {
      await this.persist([...this.entries.map((e) => e.record), record]);
    } catch (err) {
      await allocator.close();
      throw err;
    }
    this.entries.push(entry);
    return statusOf(entry);
  }

  private async persist(records: DeviceRecord[]): Promise<void> {
    const file = join(this.dir, REGISTRY_FILE);
    const tmp = `${file}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify({ version: REGISTRY_VERSION, devices: records }, null, 2));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    const d = await open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}

async function openEntry(record: DeviceRecord): Promise<Entry> {
  let device: DirectDevice | undefined;
  try {
    device = await DirectDevice.open(record.path);
    if (device.deviceUuid !== record.deviceUuid) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `${record.path} now holds another device (${device.deviceUuid})`,
      );
    }
    const { allocator } = await DeviceAllocator.open(device);
    return { record, allocator, device };
  } catch (err) {
    await device?.close();
    return { record, error: (err as Error).message };
  }
}

function statusOf(e: Entry): DeviceStatus {
  const stats = e.allocator?.stats;
  const capacityBytes = stats === undefined ? 0 : stats.blocks * stats.blockSizeBytes;
  const usedBytes = stats === undefined ? 0 : stats.usedBlocks * stats.blockSizeBytes;
  return {
    deviceUuid: e.record.deviceUuid,
    path: e.record.path,
    kind: e.device?.geometry.kind ?? (e.record.path.startsWith('/dev/') ? 'block' : 'file'),
    deviceClass: e.record.deviceClass,
    state: e.allocator === undefined ? 'missing' : 'active',
    blockSizeBytes: stats?.blockSizeBytes ?? 0,
    capacityBytes,
    usedBytes,
    capacity: capacityState(usedBytes, capacityBytes, e.record.deviceClass),
    addedAtMs: e.record.addedAtMs,
    ...(e.error === undefined ? {} : { error: e.error }),
  };
}
