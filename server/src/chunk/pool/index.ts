/** Affinity pools: durability policies (I-C4, I-C6), capacity thresholds (I-C5), placement (I-C3). */
export { type CapacityState, CRITICAL_RATIO, capacityState } from './capacity.ts';
export { type AddDeviceOptions, DEVICES_MAX, DeviceRegistry } from './device-registry.ts';
export {
  type DeviceId,
  type NodeId,
  type PlacementDevice,
  type PlaceRequest,
  placeChunk,
} from './placement.ts';
export {
  createPool,
  currentPolicy,
  DEFAULT_POLICY,
  type DeviceClass,
  type DurabilityPolicy,
  formatPolicy,
  type PolicyEpoch,
  type PoolDefinition,
  type PoolId,
  parsePolicy,
  piecesOf,
  policyAt,
  policyProblem,
  setDurability,
  spaceFactor,
  toleratedLosses,
} from './policy.ts';
export {
  type ChunkLocation,
  localDevice,
  type PieceDevice,
  type PieceLocation,
  PoolStore,
  type RepairResult,
} from './pool-store.ts';
