// Original file: proto/kiseki/v1/services.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AppendRequest as _kiseki_v1_AppendRequest, AppendRequest__Output as _kiseki_v1_AppendRequest__Output } from '../../kiseki/v1/AppendRequest.ts';
import type { AppendResponse as _kiseki_v1_AppendResponse, AppendResponse__Output as _kiseki_v1_AppendResponse__Output } from '../../kiseki/v1/AppendResponse.ts';
import type { LogEntry as _kiseki_v1_LogEntry, LogEntry__Output as _kiseki_v1_LogEntry__Output } from '../../kiseki/v1/LogEntry.ts';
import type { ReadRangeRequest as _kiseki_v1_ReadRangeRequest, ReadRangeRequest__Output as _kiseki_v1_ReadRangeRequest__Output } from '../../kiseki/v1/ReadRangeRequest.ts';
import type { ReadRangeResponse as _kiseki_v1_ReadRangeResponse, ReadRangeResponse__Output as _kiseki_v1_ReadRangeResponse__Output } from '../../kiseki/v1/ReadRangeResponse.ts';
import type { WatchRequest as _kiseki_v1_WatchRequest, WatchRequest__Output as _kiseki_v1_WatchRequest__Output } from '../../kiseki/v1/WatchRequest.ts';

export interface LogClient extends grpc.Client {
  /**
   * Append raw deltas to a shard (cluster-internal; tenants use Composition.Mutate).
   */
  Append(argument: _kiseki_v1_AppendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_AppendResponse__Output>): grpc.ClientUnaryCall;
  Append(argument: _kiseki_v1_AppendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_AppendResponse__Output>): grpc.ClientUnaryCall;
  Append(argument: _kiseki_v1_AppendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_AppendResponse__Output>): grpc.ClientUnaryCall;
  Append(argument: _kiseki_v1_AppendRequest, callback: grpc.requestCallback<_kiseki_v1_AppendResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Append raw deltas to a shard (cluster-internal; tenants use Composition.Mutate).
   */
  append(argument: _kiseki_v1_AppendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_AppendResponse__Output>): grpc.ClientUnaryCall;
  append(argument: _kiseki_v1_AppendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_AppendResponse__Output>): grpc.ClientUnaryCall;
  append(argument: _kiseki_v1_AppendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_AppendResponse__Output>): grpc.ClientUnaryCall;
  append(argument: _kiseki_v1_AppendRequest, callback: grpc.requestCallback<_kiseki_v1_AppendResponse__Output>): grpc.ClientUnaryCall;
  
  ReadRange(argument: _kiseki_v1_ReadRangeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ReadRangeResponse__Output>): grpc.ClientUnaryCall;
  ReadRange(argument: _kiseki_v1_ReadRangeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_ReadRangeResponse__Output>): grpc.ClientUnaryCall;
  ReadRange(argument: _kiseki_v1_ReadRangeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ReadRangeResponse__Output>): grpc.ClientUnaryCall;
  ReadRange(argument: _kiseki_v1_ReadRangeRequest, callback: grpc.requestCallback<_kiseki_v1_ReadRangeResponse__Output>): grpc.ClientUnaryCall;
  readRange(argument: _kiseki_v1_ReadRangeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ReadRangeResponse__Output>): grpc.ClientUnaryCall;
  readRange(argument: _kiseki_v1_ReadRangeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_ReadRangeResponse__Output>): grpc.ClientUnaryCall;
  readRange(argument: _kiseki_v1_ReadRangeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ReadRangeResponse__Output>): grpc.ClientUnaryCall;
  readRange(argument: _kiseki_v1_ReadRangeRequest, callback: grpc.requestCallback<_kiseki_v1_ReadRangeResponse__Output>): grpc.ClientUnaryCall;
  
  Watch(argument: _kiseki_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kiseki_v1_LogEntry__Output>;
  Watch(argument: _kiseki_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kiseki_v1_LogEntry__Output>;
  watch(argument: _kiseki_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kiseki_v1_LogEntry__Output>;
  watch(argument: _kiseki_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kiseki_v1_LogEntry__Output>;
  
}

export interface LogHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Append raw deltas to a shard (cluster-internal; tenants use Composition.Mutate).
   */
  Append: grpc.handleUnaryCall<_kiseki_v1_AppendRequest__Output, _kiseki_v1_AppendResponse>;
  
  ReadRange: grpc.handleUnaryCall<_kiseki_v1_ReadRangeRequest__Output, _kiseki_v1_ReadRangeResponse>;
  
  Watch: grpc.handleServerStreamingCall<_kiseki_v1_WatchRequest__Output, _kiseki_v1_LogEntry>;
  
}

export interface LogDefinition extends grpc.ServiceDefinition {
  Append: MethodDefinition<_kiseki_v1_AppendRequest, _kiseki_v1_AppendResponse, _kiseki_v1_AppendRequest__Output, _kiseki_v1_AppendResponse__Output>
  ReadRange: MethodDefinition<_kiseki_v1_ReadRangeRequest, _kiseki_v1_ReadRangeResponse, _kiseki_v1_ReadRangeRequest__Output, _kiseki_v1_ReadRangeResponse__Output>
  Watch: MethodDefinition<_kiseki_v1_WatchRequest, _kiseki_v1_LogEntry, _kiseki_v1_WatchRequest__Output, _kiseki_v1_LogEntry__Output>
}
