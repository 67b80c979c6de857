// Original file: proto/kiseki/v1/services.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Empty as _kiseki_v1_Empty, Empty__Output as _kiseki_v1_Empty__Output } from '../../kiseki/v1/Empty.ts';
import type { GetChunkRequest as _kiseki_v1_GetChunkRequest, GetChunkRequest__Output as _kiseki_v1_GetChunkRequest__Output } from '../../kiseki/v1/GetChunkRequest.ts';
import type { GetChunkResponse as _kiseki_v1_GetChunkResponse, GetChunkResponse__Output as _kiseki_v1_GetChunkResponse__Output } from '../../kiseki/v1/GetChunkResponse.ts';
import type { HasChunksRequest as _kiseki_v1_HasChunksRequest, HasChunksRequest__Output as _kiseki_v1_HasChunksRequest__Output } from '../../kiseki/v1/HasChunksRequest.ts';
import type { HasChunksResponse as _kiseki_v1_HasChunksResponse, HasChunksResponse__Output as _kiseki_v1_HasChunksResponse__Output } from '../../kiseki/v1/HasChunksResponse.ts';
import type { PutChunkRequest as _kiseki_v1_PutChunkRequest, PutChunkRequest__Output as _kiseki_v1_PutChunkRequest__Output } from '../../kiseki/v1/PutChunkRequest.ts';
import type { PutChunkResponse as _kiseki_v1_PutChunkResponse, PutChunkResponse__Output as _kiseki_v1_PutChunkResponse__Output } from '../../kiseki/v1/PutChunkResponse.ts';
import type { ReleaseChunkRequest as _kiseki_v1_ReleaseChunkRequest, ReleaseChunkRequest__Output as _kiseki_v1_ReleaseChunkRequest__Output } from '../../kiseki/v1/ReleaseChunkRequest.ts';

export interface ChunkClient extends grpc.Client {
  Get(argument: _kiseki_v1_GetChunkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_GetChunkResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _kiseki_v1_GetChunkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_GetChunkResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _kiseki_v1_GetChunkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_GetChunkResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _kiseki_v1_GetChunkRequest, callback: grpc.requestCallback<_kiseki_v1_GetChunkResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _kiseki_v1_GetChunkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_GetChunkResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _kiseki_v1_GetChunkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_GetChunkResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _kiseki_v1_GetChunkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_GetChunkResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _kiseki_v1_GetChunkRequest, callback: grpc.requestCallback<_kiseki_v1_GetChunkResponse__Output>): grpc.ClientUnaryCall;
  
  Has(argument: _kiseki_v1_HasChunksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_HasChunksResponse__Output>): grpc.ClientUnaryCall;
  Has(argument: _kiseki_v1_HasChunksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_HasChunksResponse__Output>): grpc.ClientUnaryCall;
  Has(argument: _kiseki_v1_HasChunksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_HasChunksResponse__Output>): grpc.ClientUnaryCall;
  Has(argument: _kiseki_v1_HasChunksRequest, callback: grpc.requestCallback<_kiseki_v1_HasChunksResponse__Output>): grpc.ClientUnaryCall;
  has(argument: _kiseki_v1_HasChunksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_HasChunksResponse__Output>): grpc.ClientUnaryCall;
  has(argument: _kiseki_v1_HasChunksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_HasChunksResponse__Output>): grpc.ClientUnaryCall;
  has(argument: _kiseki_v1_HasChunksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_HasChunksResponse__Output>): grpc.ClientUnaryCall;
  has(argument: _kiseki_v1_HasChunksRequest, callback: grpc.requestCallback<_kiseki_v1_HasChunksResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Small-chunk and control path; bulk bytes use the HTTP chunk transport (see chunk_url).
   */
  Put(argument: _kiseki_v1_PutChunkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_PutChunkResponse__Output>): grpc.ClientUnaryCall;
  Put(argument: _kiseki_v1_PutChunkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_PutChunkResponse__Output>): grpc.ClientUnaryCall;
  Put(argument: _kiseki_v1_PutChunkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_PutChunkResponse__Output>): grpc.ClientUnaryCall;
  Put(argument: _kiseki_v1_PutChunkRequest, callback: grpc.requestCallback<_kiseki_v1_PutChunkResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Small-chunk and control path; bulk bytes use the HTTP chunk transport (see chunk_url).
   */
  put(argument: _kiseki_v1_PutChunkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_PutChunkResponse__Output>): grpc.ClientUnaryCall;
  put(argument: _kiseki_v1_PutChunkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_PutChunkResponse__Output>): grpc.ClientUnaryCall;
  put(argument: _kiseki_v1_PutChunkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_PutChunkResponse__Output>): grpc.ClientUnaryCall;
  put(argument: _kiseki_v1_PutChunkRequest, callback: grpc.requestCallback<_kiseki_v1_PutChunkResponse__Output>): grpc.ClientUnaryCall;
  
  Release(argument: _kiseki_v1_ReleaseChunkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  Release(argument: _kiseki_v1_ReleaseChunkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  Release(argument: _kiseki_v1_ReleaseChunkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  Release(argument: _kiseki_v1_ReleaseChunkRequest, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  release(argument: _kiseki_v1_ReleaseChunkRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  release(argument: _kiseki_v1_ReleaseChunkRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  release(argument: _kiseki_v1_ReleaseChunkRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  release(argument: _kiseki_v1_ReleaseChunkRequest, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  
}

export interface ChunkHandlers extends grpc.UntypedServiceImplementation {
  Get: grpc.handleUnaryCall<_kiseki_v1_GetChunkRequest__Output, _kiseki_v1_GetChunkResponse>;
  
  Has: grpc.handleUnaryCall<_kiseki_v1_HasChunksRequest__Output, _kiseki_v1_HasChunksResponse>;
  
  /**
   * Small-chunk and control path; bulk bytes use the HTTP chunk transport (see chunk_url).
   */
  Put: grpc.handleUnaryCall<_kiseki_v1_PutChunkRequest__Output, _kiseki_v1_PutChunkResponse>;
  
  Release: grpc.handleUnaryCall<_kiseki_v1_ReleaseChunkRequest__Output, _kiseki_v1_Empty>;
  
}

export interface ChunkDefinition extends grpc.ServiceDefinition {
  Get: MethodDefinition<_kiseki_v1_GetChunkRequest, _kiseki_v1_GetChunkResponse, _kiseki_v1_GetChunkRequest__Output, _kiseki_v1_GetChunkResponse__Output>
  Has: MethodDefinition<_kiseki_v1_HasChunksRequest, _kiseki_v1_HasChunksResponse, _kiseki_v1_HasChunksRequest__Output, _kiseki_v1_HasChunksResponse__Output>
  Put: MethodDefinition<_kiseki_v1_PutChunkRequest, _kiseki_v1_PutChunkResponse, _kiseki_v1_PutChunkRequest__Output, _kiseki_v1_PutChunkResponse__Output>
  Release: MethodDefinition<_kiseki_v1_ReleaseChunkRequest, _kiseki_v1_Empty, _kiseki_v1_ReleaseChunkRequest__Output, _kiseki_v1_Empty__Output>
}
