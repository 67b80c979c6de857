// Original file: proto/kiseki/v1/services.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { MutateRequest as _kiseki_v1_MutateRequest, MutateRequest__Output as _kiseki_v1_MutateRequest__Output } from '../../kiseki/v1/MutateRequest.ts';
import type { MutateResponse as _kiseki_v1_MutateResponse, MutateResponse__Output as _kiseki_v1_MutateResponse__Output } from '../../kiseki/v1/MutateResponse.ts';

export interface CompositionClient extends grpc.Client {
  Mutate(argument: _kiseki_v1_MutateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_MutateResponse__Output>): grpc.ClientUnaryCall;
  Mutate(argument: _kiseki_v1_MutateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_MutateResponse__Output>): grpc.ClientUnaryCall;
  Mutate(argument: _kiseki_v1_MutateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_MutateResponse__Output>): grpc.ClientUnaryCall;
  Mutate(argument: _kiseki_v1_MutateRequest, callback: grpc.requestCallback<_kiseki_v1_MutateResponse__Output>): grpc.ClientUnaryCall;
  mutate(argument: _kiseki_v1_MutateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_MutateResponse__Output>): grpc.ClientUnaryCall;
  mutate(argument: _kiseki_v1_MutateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_MutateResponse__Output>): grpc.ClientUnaryCall;
  mutate(argument: _kiseki_v1_MutateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_MutateResponse__Output>): grpc.ClientUnaryCall;
  mutate(argument: _kiseki_v1_MutateRequest, callback: grpc.requestCallback<_kiseki_v1_MutateResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface CompositionHandlers extends grpc.UntypedServiceImplementation {
  Mutate: grpc.handleUnaryCall<_kiseki_v1_MutateRequest__Output, _kiseki_v1_MutateResponse>;
  
}

export interface CompositionDefinition extends grpc.ServiceDefinition {
  Mutate: MethodDefinition<_kiseki_v1_MutateRequest, _kiseki_v1_MutateResponse, _kiseki_v1_MutateRequest__Output, _kiseki_v1_MutateResponse__Output>
}
