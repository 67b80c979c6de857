export {
  KeyManager,
  type KeyManagerOptions,
  TENANT_KEY_CACHE_TTL_MS_DEFAULT,
  type TenantKeySet,
} from './manager.ts';
export { InternalKms } from './providers/internal.ts';
export type { TenantKmsProvider, WrapContext } from './providers/provider.ts';
export { writeFileDurable } from './secret-file.ts';
