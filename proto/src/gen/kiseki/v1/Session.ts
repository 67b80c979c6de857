// Original file: proto/kiseki/v1/services.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { OpenSessionRequest as _kiseki_v1_OpenSessionRequest, OpenSessionRequest__Output as _kiseki_v1_OpenSessionRequest__Output } from '../../kiseki/v1/OpenSessionRequest.ts';
import type { OpenSessionResponse as _kiseki_v1_OpenSessionResponse, OpenSessionResponse__Output as _kiseki_v1_OpenSessionResponse__Output } from '../../kiseki/v1/OpenSessionResponse.ts';

export interface SessionClient extends grpc.Client {
  /**
   * Exchange a tenant workload credential for a short-lived session token.
   */
  Open(argument: _kiseki_v1_OpenSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_OpenSessionResponse__Output>): grpc.ClientUnaryCall;
  Open(argument: _kiseki_v1_OpenSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_OpenSessionResponse__Output>): grpc.ClientUnaryCall;
  Open(argument: _kiseki_v1_OpenSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_OpenSessionResponse__Output>): grpc.ClientUnaryCall;
  Open(argument: _kiseki_v1_OpenSessionRequest, callback: grpc.requestCallback<_kiseki_v1_OpenSessionResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Exchange a tenant workload credential for a short-lived session token.
   */
  open(argument: _kiseki_v1_OpenSessionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_OpenSessionResponse__Output>): grpc.ClientUnaryCall;
  open(argument: _kiseki_v1_OpenSessionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_OpenSessionResponse__Output>): grpc.ClientUnaryCall;
  open(argument: _kiseki_v1_OpenSessionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_OpenSessionResponse__Output>): grpc.ClientUnaryCall;
  open(argument: _kiseki_v1_OpenSessionRequest, callback: grpc.requestCallback<_kiseki_v1_OpenSessionResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface SessionHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Exchange a tenant workload credential for a short-lived session token.
   */
  Open: grpc.handleUnaryCall<_kiseki_v1_OpenSessionRequest__Output, _kiseki_v1_OpenSessionResponse>;
  
}

export interface SessionDefinition extends grpc.ServiceDefinition {
  Open: MethodDefinition<_kiseki_v1_OpenSessionRequest, _kiseki_v1_OpenSessionResponse, _kiseki_v1_OpenSessionRequest__Output, _kiseki_v1_OpenSessionResponse__Output>
}
