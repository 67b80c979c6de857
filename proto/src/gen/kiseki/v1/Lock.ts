// Original file: proto/kiseki/v1/services.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Empty as _kiseki_v1_Empty, Empty__Output as _kiseki_v1_Empty__Output } from '../../kiseki/v1/Empty.ts';
import type { LockRequest as _kiseki_v1_LockRequest, LockRequest__Output as _kiseki_v1_LockRequest__Output } from '../../kiseki/v1/LockRequest.ts';
import type { LockResponse as _kiseki_v1_LockResponse, LockResponse__Output as _kiseki_v1_LockResponse__Output } from '../../kiseki/v1/LockResponse.ts';
import type { RenewLockLeaseRequest as _kiseki_v1_RenewLockLeaseRequest, RenewLockLeaseRequest__Output as _kiseki_v1_RenewLockLeaseRequest__Output } from '../../kiseki/v1/RenewLockLeaseRequest.ts';
import type { RenewLockLeaseResponse as _kiseki_v1_RenewLockLeaseResponse, RenewLockLeaseResponse__Output as _kiseki_v1_RenewLockLeaseResponse__Output } from '../../kiseki/v1/RenewLockLeaseResponse.ts';
import type { TestLockResponse as _kiseki_v1_TestLockResponse, TestLockResponse__Output as _kiseki_v1_TestLockResponse__Output } from '../../kiseki/v1/TestLockResponse.ts';
import type { UnlockRequest as _kiseki_v1_UnlockRequest, UnlockRequest__Output as _kiseki_v1_UnlockRequest__Output } from '../../kiseki/v1/UnlockRequest.ts';

/**
 * Advisory file locks (fcntl record locks and flock) shared by every client of a tenant, held
 * under a lease that Renew extends. After a server restart (a new epoch in Renew's answer)
 * clients reclaim the locks they held; for one lease only reclaims are granted.
 */
export interface LockClient extends grpc.Client {
  /**
   * Granted, or (without wait) refused with granted = false; with wait, false means "ask again".
   */
  Acquire(argument: _kiseki_v1_LockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_LockResponse__Output>): grpc.ClientUnaryCall;
  Acquire(argument: _kiseki_v1_LockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_LockResponse__Output>): grpc.ClientUnaryCall;
  Acquire(argument: _kiseki_v1_LockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_LockResponse__Output>): grpc.ClientUnaryCall;
  Acquire(argument: _kiseki_v1_LockRequest, callback: grpc.requestCallback<_kiseki_v1_LockResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Granted, or (without wait) refused with granted = false; with wait, false means "ask again".
   */
  acquire(argument: _kiseki_v1_LockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_LockResponse__Output>): grpc.ClientUnaryCall;
  acquire(argument: _kiseki_v1_LockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_LockResponse__Output>): grpc.ClientUnaryCall;
  acquire(argument: _kiseki_v1_LockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_LockResponse__Output>): grpc.ClientUnaryCall;
  acquire(argument: _kiseki_v1_LockRequest, callback: grpc.requestCallback<_kiseki_v1_LockResponse__Output>): grpc.ClientUnaryCall;
  
  Release(argument: _kiseki_v1_UnlockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  Release(argument: _kiseki_v1_UnlockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  Release(argument: _kiseki_v1_UnlockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  Release(argument: _kiseki_v1_UnlockRequest, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  release(argument: _kiseki_v1_UnlockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  release(argument: _kiseki_v1_UnlockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  release(argument: _kiseki_v1_UnlockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  release(argument: _kiseki_v1_UnlockRequest, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  
  Renew(argument: _kiseki_v1_RenewLockLeaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_RenewLockLeaseResponse__Output>): grpc.ClientUnaryCall;
  Renew(argument: _kiseki_v1_RenewLockLeaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_RenewLockLeaseResponse__Output>): grpc.ClientUnaryCall;
  Renew(argument: _kiseki_v1_RenewLockLeaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_RenewLockLeaseResponse__Output>): grpc.ClientUnaryCall;
  Renew(argument: _kiseki_v1_RenewLockLeaseRequest, callback: grpc.requestCallback<_kiseki_v1_RenewLockLeaseResponse__Output>): grpc.ClientUnaryCall;
  renew(argument: _kiseki_v1_RenewLockLeaseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_RenewLockLeaseResponse__Output>): grpc.ClientUnaryCall;
  renew(argument: _kiseki_v1_RenewLockLeaseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_RenewLockLeaseResponse__Output>): grpc.ClientUnaryCall;
  renew(argument: _kiseki_v1_RenewLockLeaseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_RenewLockLeaseResponse__Output>): grpc.ClientUnaryCall;
  renew(argument: _kiseki_v1_RenewLockLeaseRequest, callback: grpc.requestCallback<_kiseki_v1_RenewLockLeaseResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * F_GETLK: the first lock that would block the request.
   */
  Test(argument: _kiseki_v1_LockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_TestLockResponse__Output>): grpc.ClientUnaryCall;
  Test(argument: _kiseki_v1_LockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_TestLockResponse__Output>): grpc.ClientUnaryCall;
  Test(argument: _kiseki_v1_LockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_TestLockResponse__Output>): grpc.ClientUnaryCall;
  Test(argument: _kiseki_v1_LockRequest, callback: grpc.requestCallback<_kiseki_v1_TestLockResponse__Output>): grpc.ClientUnaryCall;
  /**
   * F_GETLK: the first lock that would block the request.
   */
  test(argument: _kiseki_v1_LockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_TestLockResponse__Output>): grpc.ClientUnaryCall;
  test(argument: _kiseki_v1_LockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_TestLockResponse__Output>): grpc.ClientUnaryCall;
  test(argument: _kiseki_v1_LockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_TestLockResponse__Output>): grpc.ClientUnaryCall;
  test(argument: _kiseki_v1_LockRequest, callback: grpc.requestCallback<_kiseki_v1_TestLockResponse__Output>): grpc.ClientUnaryCall;
  
}

/**
 * Advisory file locks (fcntl record locks and flock) shared by every client of a tenant, held
 * under a lease that Renew extends. After a server restart (a new epoch in Renew's answer)
 * clients reclaim the locks they held; for one lease only reclaims are granted.
 */
export interface LockHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Granted, or (without wait) refused with granted = false; with wait, false means "ask again".
   */
  Acquire: grpc.handleUnaryCall<_kiseki_v1_LockRequest__Output, _kiseki_v1_LockResponse>;
  
  Release: grpc.handleUnaryCall<_kiseki_v1_UnlockRequest__Output, _kiseki_v1_Empty>;
  
  Renew: grpc.handleUnaryCall<_kiseki_v1_RenewLockLeaseRequest__Output, _kiseki_v1_RenewLockLeaseResponse>;
  
  /**
   * F_GETLK: the first lock that would block the request.
   */
  Test: grpc.handleUnaryCall<_kiseki_v1_LockRequest__Output, _kiseki_v1_TestLockResponse>;
  
}

export interface LockDefinition extends grpc.ServiceDefinition {
  Acquire: MethodDefinition<_kiseki_v1_LockRequest, _kiseki_v1_LockResponse, _kiseki_v1_LockRequest__Output, _kiseki_v1_LockResponse__Output>
  Release: MethodDefinition<_kiseki_v1_UnlockRequest, _kiseki_v1_Empty, _kiseki_v1_UnlockRequest__Output, _kiseki_v1_Empty__Output>
  Renew: MethodDefinition<_kiseki_v1_RenewLockLeaseRequest, _kiseki_v1_RenewLockLeaseResponse, _kiseki_v1_RenewLockLeaseRequest__Output, _kiseki_v1_RenewLockLeaseResponse__Output>
  Test: MethodDefinition<_kiseki_v1_LockRequest, _kiseki_v1_TestLockResponse, _kiseki_v1_LockRequest__Output, _kiseki_v1_TestLockResponse__Output>
}
