export { type DedupMode, type TenantRecord, TenantRegistry } from './tenants.ts';
