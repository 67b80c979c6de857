// Original file: proto/kiseki/v1/services.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Empty as _kiseki_v1_Empty, Empty__Output as _kiseki_v1_Empty__Output } from '../../kiseki/v1/Empty.ts';
import type { TenantKeys as _kiseki_v1_TenantKeys, TenantKeys__Output as _kiseki_v1_TenantKeys__Output } from '../../kiseki/v1/TenantKeys.ts';

export interface KeyClient extends grpc.Client {
  /**
   * The caller's tenant key material for the current and readable epochs. Sent only over TLS.
   */
  GetTenantKeys(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_TenantKeys__Output>): grpc.ClientUnaryCall;
  GetTenantKeys(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_TenantKeys__Output>): grpc.ClientUnaryCall;
  GetTenantKeys(argument: _kiseki_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_TenantKeys__Output>): grpc.ClientUnaryCall;
  GetTenantKeys(argument: _kiseki_v1_Empty, callback: grpc.requestCallback<_kiseki_v1_TenantKeys__Output>): grpc.ClientUnaryCall;
  /**
   * The caller's tenant key material for the current and readable epochs. Sent only over TLS.
   */
  getTenantKeys(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_TenantKeys__Output>): grpc.ClientUnaryCall;
  getTenantKeys(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_TenantKeys__Output>): grpc.ClientUnaryCall;
  getTenantKeys(argument: _kiseki_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_TenantKeys__Output>): grpc.ClientUnaryCall;
  getTenantKeys(argument: _kiseki_v1_Empty, callback: grpc.requestCallback<_kiseki_v1_TenantKeys__Output>): grpc.ClientUnaryCall;
  
}

export interface KeyHandlers extends grpc.UntypedServiceImplementation {
  /**
   * The caller's tenant key material for the current and readable epochs. Sent only over TLS.
   */
  GetTenantKeys: grpc.handleUnaryCall<_kiseki_v1_Empty__Output, _kiseki_v1_TenantKeys>;
  
}

export interface KeyDefinition extends grpc.ServiceDefinition {
  GetTenantKeys: MethodDefinition<_kiseki_v1_Empty, _kiseki_v1_TenantKeys, _kiseki_v1_Empty__Output, _kiseki_v1_TenantKeys__Output>
}
