export { type AuditEvent, type AuditRecord, readAudit, verifyAudit } from './audit.ts';
export { addEpoch, type EpochInfo, isShredded, listEpochs, shredTenant } from './epochs.ts';
export { type KmsConfig, parseKmsConfig, redactKmsConfig } from './kms-config.ts';
export {
  KeyManager,
  type KeyManagerOptions,
  TENANT_KEY_CACHE_TTL_MS_DEFAULT,
  type TenantKeySet,
} from './manager.ts';
export { AwsKms, type AwsKmsConfig } from './providers/aws-kms.ts';
export { InternalKms } from './providers/internal.ts';
export { type KmipConfig, KmipKms } from './providers/kmip.ts';
export { type Pkcs11Config, Pkcs11Kms } from './providers/pkcs11.ts';
export type {
  DataKey,
  KmsCallOptions,
  KmsHealth,
  KmsKind,
  TenantKmsProvider,
  WrapContext,
} from './providers/provider.ts';
export {
  CircuitBreaker,
  type ResilienceOptions,
  type ResilientProvider,
  resilient,
} from './providers/resilience.ts';
export { type VaultAuth, type VaultConfig, VaultKms } from './providers/vault.ts';
export { type KmsMigrateReport, KmsRegistry, type KmsTestReport } from './registry.ts';
export { writeFileDurable } from './secret-file.ts';
