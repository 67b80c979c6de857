// Original file: proto/kiseki/v1/services.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Attr as _kiseki_v1_Attr, Attr__Output as _kiseki_v1_Attr__Output } from '../../kiseki/v1/Attr.ts';
import type { Empty as _kiseki_v1_Empty, Empty__Output as _kiseki_v1_Empty__Output } from '../../kiseki/v1/Empty.ts';
import type { GetAttrRequest as _kiseki_v1_GetAttrRequest, GetAttrRequest__Output as _kiseki_v1_GetAttrRequest__Output } from '../../kiseki/v1/GetAttrRequest.ts';
import type { GetBlocksRequest as _kiseki_v1_GetBlocksRequest, GetBlocksRequest__Output as _kiseki_v1_GetBlocksRequest__Output } from '../../kiseki/v1/GetBlocksRequest.ts';
import type { GetBlocksResponse as _kiseki_v1_GetBlocksResponse, GetBlocksResponse__Output as _kiseki_v1_GetBlocksResponse__Output } from '../../kiseki/v1/GetBlocksResponse.ts';
import type { ListXattrsRequest as _kiseki_v1_ListXattrsRequest, ListXattrsRequest__Output as _kiseki_v1_ListXattrsRequest__Output } from '../../kiseki/v1/ListXattrsRequest.ts';
import type { ListXattrsResponse as _kiseki_v1_ListXattrsResponse, ListXattrsResponse__Output as _kiseki_v1_ListXattrsResponse__Output } from '../../kiseki/v1/ListXattrsResponse.ts';
import type { LookupRequest as _kiseki_v1_LookupRequest, LookupRequest__Output as _kiseki_v1_LookupRequest__Output } from '../../kiseki/v1/LookupRequest.ts';
import type { LookupResponse as _kiseki_v1_LookupResponse, LookupResponse__Output as _kiseki_v1_LookupResponse__Output } from '../../kiseki/v1/LookupResponse.ts';
import type { PinRequest as _kiseki_v1_PinRequest, PinRequest__Output as _kiseki_v1_PinRequest__Output } from '../../kiseki/v1/PinRequest.ts';
import type { PinResponse as _kiseki_v1_PinResponse, PinResponse__Output as _kiseki_v1_PinResponse__Output } from '../../kiseki/v1/PinResponse.ts';
import type { ReadDirRequest as _kiseki_v1_ReadDirRequest, ReadDirRequest__Output as _kiseki_v1_ReadDirRequest__Output } from '../../kiseki/v1/ReadDirRequest.ts';
import type { ReadDirResponse as _kiseki_v1_ReadDirResponse, ReadDirResponse__Output as _kiseki_v1_ReadDirResponse__Output } from '../../kiseki/v1/ReadDirResponse.ts';
import type { StatFsResponse as _kiseki_v1_StatFsResponse, StatFsResponse__Output as _kiseki_v1_StatFsResponse__Output } from '../../kiseki/v1/StatFsResponse.ts';
import type { UnpinRequest as _kiseki_v1_UnpinRequest, UnpinRequest__Output as _kiseki_v1_UnpinRequest__Output } from '../../kiseki/v1/UnpinRequest.ts';

export interface ViewClient extends grpc.Client {
  GetAttr(argument: _kiseki_v1_GetAttrRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Attr__Output>): grpc.ClientUnaryCall;
  GetAttr(argument: _kiseki_v1_GetAttrRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_Attr__Output>): grpc.ClientUnaryCall;
  GetAttr(argument: _kiseki_v1_GetAttrRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Attr__Output>): grpc.ClientUnaryCall;
  GetAttr(argument: _kiseki_v1_GetAttrRequest, callback: grpc.requestCallback<_kiseki_v1_Attr__Output>): grpc.ClientUnaryCall;
  getAttr(argument: _kiseki_v1_GetAttrRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Attr__Output>): grpc.ClientUnaryCall;
  getAttr(argument: _kiseki_v1_GetAttrRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_Attr__Output>): grpc.ClientUnaryCall;
  getAttr(argument: _kiseki_v1_GetAttrRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Attr__Output>): grpc.ClientUnaryCall;
  getAttr(argument: _kiseki_v1_GetAttrRequest, callback: grpc.requestCallback<_kiseki_v1_Attr__Output>): grpc.ClientUnaryCall;
  
  GetBlocks(argument: _kiseki_v1_GetBlocksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_GetBlocksResponse__Output>): grpc.ClientUnaryCall;
  GetBlocks(argument: _kiseki_v1_GetBlocksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_GetBlocksResponse__Output>): grpc.ClientUnaryCall;
  GetBlocks(argument: _kiseki_v1_GetBlocksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_GetBlocksResponse__Output>): grpc.ClientUnaryCall;
  GetBlocks(argument: _kiseki_v1_GetBlocksRequest, callback: grpc.requestCallback<_kiseki_v1_GetBlocksResponse__Output>): grpc.ClientUnaryCall;
  getBlocks(argument: _kiseki_v1_GetBlocksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_GetBlocksResponse__Output>): grpc.ClientUnaryCall;
  getBlocks(argument: _kiseki_v1_GetBlocksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_GetBlocksResponse__Output>): grpc.ClientUnaryCall;
  getBlocks(argument: _kiseki_v1_GetBlocksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_GetBlocksResponse__Output>): grpc.ClientUnaryCall;
  getBlocks(argument: _kiseki_v1_GetBlocksRequest, callback: grpc.requestCallback<_kiseki_v1_GetBlocksResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Every extended attribute of an inode, sealed (the client opens names and values).
   */
  ListXattrs(argument: _kiseki_v1_ListXattrsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ListXattrsResponse__Output>): grpc.ClientUnaryCall;
  ListXattrs(argument: _kiseki_v1_ListXattrsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_ListXattrsResponse__Output>): grpc.ClientUnaryCall;
  ListXattrs(argument: _kiseki_v1_ListXattrsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ListXattrsResponse__Output>): grpc.ClientUnaryCall;
  ListXattrs(argument: _kiseki_v1_ListXattrsRequest, callback: grpc.requestCallback<_kiseki_v1_ListXattrsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Every extended attribute of an inode, sealed (the client opens names and values).
   */
  listXattrs(argument: _kiseki_v1_ListXattrsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ListXattrsResponse__Output>): grpc.ClientUnaryCall;
  listXattrs(argument: _kiseki_v1_ListXattrsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_ListXattrsResponse__Output>): grpc.ClientUnaryCall;
  listXattrs(argument: _kiseki_v1_ListXattrsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ListXattrsResponse__Output>): grpc.ClientUnaryCall;
  listXattrs(argument: _kiseki_v1_ListXattrsRequest, callback: grpc.requestCallback<_kiseki_v1_ListXattrsResponse__Output>): grpc.ClientUnaryCall;
  
  Lookup(argument: _kiseki_v1_LookupRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  Lookup(argument: _kiseki_v1_LookupRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  Lookup(argument: _kiseki_v1_LookupRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  Lookup(argument: _kiseki_v1_LookupRequest, callback: grpc.requestCallback<_kiseki_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  lookup(argument: _kiseki_v1_LookupRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  lookup(argument: _kiseki_v1_LookupRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  lookup(argument: _kiseki_v1_LookupRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  lookup(argument: _kiseki_v1_LookupRequest, callback: grpc.requestCallback<_kiseki_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  
  Pin(argument: _kiseki_v1_PinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  Pin(argument: _kiseki_v1_PinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  Pin(argument: _kiseki_v1_PinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  Pin(argument: _kiseki_v1_PinRequest, callback: grpc.requestCallback<_kiseki_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  pin(argument: _kiseki_v1_PinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  pin(argument: _kiseki_v1_PinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  pin(argument: _kiseki_v1_PinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  pin(argument: _kiseki_v1_PinRequest, callback: grpc.requestCallback<_kiseki_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  
  ReadDir(argument: _kiseki_v1_ReadDirRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ReadDirResponse__Output>): grpc.ClientUnaryCall;
  ReadDir(argument: _kiseki_v1_ReadDirRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_ReadDirResponse__Output>): grpc.ClientUnaryCall;
  ReadDir(argument: _kiseki_v1_ReadDirRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ReadDirResponse__Output>): grpc.ClientUnaryCall;
  ReadDir(argument: _kiseki_v1_ReadDirRequest, callback: grpc.requestCallback<_kiseki_v1_ReadDirResponse__Output>): grpc.ClientUnaryCall;
  readDir(argument: _kiseki_v1_ReadDirRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ReadDirResponse__Output>): grpc.ClientUnaryCall;
  readDir(argument: _kiseki_v1_ReadDirRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_ReadDirResponse__Output>): grpc.ClientUnaryCall;
  readDir(argument: _kiseki_v1_ReadDirRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ReadDirResponse__Output>): grpc.ClientUnaryCall;
  readDir(argument: _kiseki_v1_ReadDirRequest, callback: grpc.requestCallback<_kiseki_v1_ReadDirResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Capacity as the tenant sees it (statfs).
   */
  StatFs(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_StatFsResponse__Output>): grpc.ClientUnaryCall;
  StatFs(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_StatFsResponse__Output>): grpc.ClientUnaryCall;
  StatFs(argument: _kiseki_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_StatFsResponse__Output>): grpc.ClientUnaryCall;
  StatFs(argument: _kiseki_v1_Empty, callback: grpc.requestCallback<_kiseki_v1_StatFsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Capacity as the tenant sees it (statfs).
   */
  statFs(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_StatFsResponse__Output>): grpc.ClientUnaryCall;
  statFs(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_StatFsResponse__Output>): grpc.ClientUnaryCall;
  statFs(argument: _kiseki_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_StatFsResponse__Output>): grpc.ClientUnaryCall;
  statFs(argument: _kiseki_v1_Empty, callback: grpc.requestCallback<_kiseki_v1_StatFsResponse__Output>): grpc.ClientUnaryCall;
  
  Unpin(argument: _kiseki_v1_UnpinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  Unpin(argument: _kiseki_v1_UnpinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  Unpin(argument: _kiseki_v1_UnpinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  Unpin(argument: _kiseki_v1_UnpinRequest, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  unpin(argument: _kiseki_v1_UnpinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  unpin(argument: _kiseki_v1_UnpinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  unpin(argument: _kiseki_v1_UnpinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  unpin(argument: _kiseki_v1_UnpinRequest, callback: grpc.requestCallback<_kiseki_v1_Empty__Output>): grpc.ClientUnaryCall;
  
}

export interface ViewHandlers extends grpc.UntypedServiceImplementation {
  GetAttr: grpc.handleUnaryCall<_kiseki_v1_GetAttrRequest__Output, _kiseki_v1_Attr>;
  
  GetBlocks: grpc.handleUnaryCall<_kiseki_v1_GetBlocksRequest__Output, _kiseki_v1_GetBlocksResponse>;
  
  /**
   * Every extended attribute of an inode, sealed (the client opens names and values).
   */
  ListXattrs: grpc.handleUnaryCall<_kiseki_v1_ListXattrsRequest__Output, _kiseki_v1_ListXattrsResponse>;
  
  Lookup: grpc.handleUnaryCall<_kiseki_v1_LookupRequest__Output, _kiseki_v1_LookupResponse>;
  
  Pin: grpc.handleUnaryCall<_kiseki_v1_PinRequest__Output, _kiseki_v1_PinResponse>;
  
  ReadDir: grpc.handleUnaryCall<_kiseki_v1_ReadDirRequest__Output, _kiseki_v1_ReadDirResponse>;
  
  /**
   * Capacity as the tenant sees it (statfs).
   */
  StatFs: grpc.handleUnaryCall<_kiseki_v1_Empty__Output, _kiseki_v1_StatFsResponse>;
  
  Unpin: grpc.handleUnaryCall<_kiseki_v1_UnpinRequest__Output, _kiseki_v1_Empty>;
  
}

export interface ViewDefinition extends grpc.ServiceDefinition {
  GetAttr: MethodDefinition<_kiseki_v1_GetAttrRequest, _kiseki_v1_Attr, _kiseki_v1_GetAttrRequest__Output, _kiseki_v1_Attr__Output>
  GetBlocks: MethodDefinition<_kiseki_v1_GetBlocksRequest, _kiseki_v1_GetBlocksResponse, _kiseki_v1_GetBlocksRequest__Output, _kiseki_v1_GetBlocksResponse__Output>
  ListXattrs: MethodDefinition<_kiseki_v1_ListXattrsRequest, _kiseki_v1_ListXattrsResponse, _kiseki_v1_ListXattrsRequest__Output, _kiseki_v1_ListXattrsResponse__Output>
  Lookup: MethodDefinition<_kiseki_v1_LookupRequest, _kiseki_v1_LookupResponse, _kiseki_v1_LookupRequest__Output, _kiseki_v1_LookupResponse__Output>
  Pin: MethodDefinition<_kiseki_v1_PinRequest, _kiseki_v1_PinResponse, _kiseki_v1_PinRequest__Output, _kiseki_v1_PinResponse__Output>
  ReadDir: MethodDefinition<_kiseki_v1_ReadDirRequest, _kiseki_v1_ReadDirResponse, _kiseki_v1_ReadDirRequest__Output, _kiseki_v1_ReadDirResponse__Output>
  StatFs: MethodDefinition<_kiseki_v1_Empty, _kiseki_v1_StatFsResponse, _kiseki_v1_Empty__Output, _kiseki_v1_StatFsResponse__Output>
  Unpin: MethodDefinition<_kiseki_v1_UnpinRequest, _kiseki_v1_Empty, _kiseki_v1_UnpinRequest__Output, _kiseki_v1_Empty__Output>
}
