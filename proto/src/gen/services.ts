import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AppendRequest as _kiseki_v1_AppendRequest, AppendRequest__Output as _kiseki_v1_AppendRequest__Output } from './kiseki/v1/AppendRequest.ts';
import type { AppendResponse as _kiseki_v1_AppendResponse, AppendResponse__Output as _kiseki_v1_AppendResponse__Output } from './kiseki/v1/AppendResponse.ts';
import type { Attr as _kiseki_v1_Attr, Attr__Output as _kiseki_v1_Attr__Output } from './kiseki/v1/Attr.ts';
import type { BlockRef as _kiseki_v1_BlockRef, BlockRef__Output as _kiseki_v1_BlockRef__Output } from './kiseki/v1/BlockRef.ts';
import type { ChunkClient as _kiseki_v1_ChunkClient, ChunkDefinition as _kiseki_v1_ChunkDefinition } from './kiseki/v1/Chunk.ts';
import type { CompositionClient as _kiseki_v1_CompositionClient, CompositionDefinition as _kiseki_v1_CompositionDefinition } from './kiseki/v1/Composition.ts';
import type { ControlClient as _kiseki_v1_ControlClient, ControlDefinition as _kiseki_v1_ControlDefinition } from './kiseki/v1/Control.ts';
import type { CreateOp as _kiseki_v1_CreateOp, CreateOp__Output as _kiseki_v1_CreateOp__Output } from './kiseki/v1/CreateOp.ts';
import type { CreateTenantRequest as _kiseki_v1_CreateTenantRequest, CreateTenantRequest__Output as _kiseki_v1_CreateTenantRequest__Output } from './kiseki/v1/CreateTenantRequest.ts';
import type { CreateTenantResponse as _kiseki_v1_CreateTenantResponse, CreateTenantResponse__Output as _kiseki_v1_CreateTenantResponse__Output } from './kiseki/v1/CreateTenantResponse.ts';
import type { DeltaHeader as _kiseki_v1_DeltaHeader, DeltaHeader__Output as _kiseki_v1_DeltaHeader__Output } from './kiseki/v1/DeltaHeader.ts';
import type { DirEntry as _kiseki_v1_DirEntry, DirEntry__Output as _kiseki_v1_DirEntry__Output } from './kiseki/v1/DirEntry.ts';
import type { Empty as _kiseki_v1_Empty, Empty__Output as _kiseki_v1_Empty__Output } from './kiseki/v1/Empty.ts';
import type { EntryPayload as _kiseki_v1_EntryPayload, EntryPayload__Output as _kiseki_v1_EntryPayload__Output } from './kiseki/v1/EntryPayload.ts';
import type { EpochKeys as _kiseki_v1_EpochKeys, EpochKeys__Output as _kiseki_v1_EpochKeys__Output } from './kiseki/v1/EpochKeys.ts';
import type { GetAttrRequest as _kiseki_v1_GetAttrRequest, GetAttrRequest__Output as _kiseki_v1_GetAttrRequest__Output } from './kiseki/v1/GetAttrRequest.ts';
import type { GetBlocksRequest as _kiseki_v1_GetBlocksRequest, GetBlocksRequest__Output as _kiseki_v1_GetBlocksRequest__Output } from './kiseki/v1/GetBlocksRequest.ts';
import type { GetBlocksResponse as _kiseki_v1_GetBlocksResponse, GetBlocksResponse__Output as _kiseki_v1_GetBlocksResponse__Output } from './kiseki/v1/GetBlocksResponse.ts';
import type { GetChunkRequest as _kiseki_v1_GetChunkRequest, GetChunkRequest__Output as _kiseki_v1_GetChunkRequest__Output } from './kiseki/v1/GetChunkRequest.ts';
import type { GetChunkResponse as _kiseki_v1_GetChunkResponse, GetChunkResponse__Output as _kiseki_v1_GetChunkResponse__Output } from './kiseki/v1/GetChunkResponse.ts';
import type { HasChunksRequest as _kiseki_v1_HasChunksRequest, HasChunksRequest__Output as _kiseki_v1_HasChunksRequest__Output } from './kiseki/v1/HasChunksRequest.ts';
import type { HasChunksResponse as _kiseki_v1_HasChunksResponse, HasChunksResponse__Output as _kiseki_v1_HasChunksResponse__Output } from './kiseki/v1/HasChunksResponse.ts';
import type { KeyClient as _kiseki_v1_KeyClient, KeyDefinition as _kiseki_v1_KeyDefinition } from './kiseki/v1/Key.ts';
import type { LinkOp as _kiseki_v1_LinkOp, LinkOp__Output as _kiseki_v1_LinkOp__Output } from './kiseki/v1/LinkOp.ts';
import type { ListNamespacesRequest as _kiseki_v1_ListNamespacesRequest, ListNamespacesRequest__Output as _kiseki_v1_ListNamespacesRequest__Output } from './kiseki/v1/ListNamespacesRequest.ts';
import type { ListNamespacesResponse as _kiseki_v1_ListNamespacesResponse, ListNamespacesResponse__Output as _kiseki_v1_ListNamespacesResponse__Output } from './kiseki/v1/ListNamespacesResponse.ts';
import type { ListTenantsResponse as _kiseki_v1_ListTenantsResponse, ListTenantsResponse__Output as _kiseki_v1_ListTenantsResponse__Output } from './kiseki/v1/ListTenantsResponse.ts';
import type { ListXattrsRequest as _kiseki_v1_ListXattrsRequest, ListXattrsRequest__Output as _kiseki_v1_ListXattrsRequest__Output } from './kiseki/v1/ListXattrsRequest.ts';
import type { ListXattrsResponse as _kiseki_v1_ListXattrsResponse, ListXattrsResponse__Output as _kiseki_v1_ListXattrsResponse__Output } from './kiseki/v1/ListXattrsResponse.ts';
import type { LockClient as _kiseki_v1_LockClient, LockDefinition as _kiseki_v1_LockDefinition } from './kiseki/v1/Lock.ts';
import type { LockRequest as _kiseki_v1_LockRequest, LockRequest__Output as _kiseki_v1_LockRequest__Output } from './kiseki/v1/LockRequest.ts';
import type { LockResponse as _kiseki_v1_LockResponse, LockResponse__Output as _kiseki_v1_LockResponse__Output } from './kiseki/v1/LockResponse.ts';
import type { LogClient as _kiseki_v1_LogClient, LogDefinition as _kiseki_v1_LogDefinition } from './kiseki/v1/Log.ts';
import type { LogEntry as _kiseki_v1_LogEntry, LogEntry__Output as _kiseki_v1_LogEntry__Output } from './kiseki/v1/LogEntry.ts';
import type { LookupRequest as _kiseki_v1_LookupRequest, LookupRequest__Output as _kiseki_v1_LookupRequest__Output } from './kiseki/v1/LookupRequest.ts';
import type { LookupResponse as _kiseki_v1_LookupResponse, LookupResponse__Output as _kiseki_v1_LookupResponse__Output } from './kiseki/v1/LookupResponse.ts';
import type { MutateRequest as _kiseki_v1_MutateRequest, MutateRequest__Output as _kiseki_v1_MutateRequest__Output } from './kiseki/v1/MutateRequest.ts';
import type { MutateResponse as _kiseki_v1_MutateResponse, MutateResponse__Output as _kiseki_v1_MutateResponse__Output } from './kiseki/v1/MutateResponse.ts';
import type { NamespaceInfo as _kiseki_v1_NamespaceInfo, NamespaceInfo__Output as _kiseki_v1_NamespaceInfo__Output } from './kiseki/v1/NamespaceInfo.ts';
import type { OpenSessionRequest as _kiseki_v1_OpenSessionRequest, OpenSessionRequest__Output as _kiseki_v1_OpenSessionRequest__Output } from './kiseki/v1/OpenSessionRequest.ts';
import type { OpenSessionResponse as _kiseki_v1_OpenSessionResponse, OpenSessionResponse__Output as _kiseki_v1_OpenSessionResponse__Output } from './kiseki/v1/OpenSessionResponse.ts';
import type { PinRequest as _kiseki_v1_PinRequest, PinRequest__Output as _kiseki_v1_PinRequest__Output } from './kiseki/v1/PinRequest.ts';
import type { PinResponse as _kiseki_v1_PinResponse, PinResponse__Output as _kiseki_v1_PinResponse__Output } from './kiseki/v1/PinResponse.ts';
import type { PutChunkRequest as _kiseki_v1_PutChunkRequest, PutChunkRequest__Output as _kiseki_v1_PutChunkRequest__Output } from './kiseki/v1/PutChunkRequest.ts';
import type { PutChunkResponse as _kiseki_v1_PutChunkResponse, PutChunkResponse__Output as _kiseki_v1_PutChunkResponse__Output } from './kiseki/v1/PutChunkResponse.ts';
import type { ReadDirRequest as _kiseki_v1_ReadDirRequest, ReadDirRequest__Output as _kiseki_v1_ReadDirRequest__Output } from './kiseki/v1/ReadDirRequest.ts';
import type { ReadDirResponse as _kiseki_v1_ReadDirResponse, ReadDirResponse__Output as _kiseki_v1_ReadDirResponse__Output } from './kiseki/v1/ReadDirResponse.ts';
import type { ReadOptions as _kiseki_v1_ReadOptions, ReadOptions__Output as _kiseki_v1_ReadOptions__Output } from './kiseki/v1/ReadOptions.ts';
import type { ReadRangeRequest as _kiseki_v1_ReadRangeRequest, ReadRangeRequest__Output as _kiseki_v1_ReadRangeRequest__Output } from './kiseki/v1/ReadRangeRequest.ts';
import type { ReadRangeResponse as _kiseki_v1_ReadRangeResponse, ReadRangeResponse__Output as _kiseki_v1_ReadRangeResponse__Output } from './kiseki/v1/ReadRangeResponse.ts';
import type { ReleaseChunkRequest as _kiseki_v1_ReleaseChunkRequest, ReleaseChunkRequest__Output as _kiseki_v1_ReleaseChunkRequest__Output } from './kiseki/v1/ReleaseChunkRequest.ts';
import type { RemoveOp as _kiseki_v1_RemoveOp, RemoveOp__Output as _kiseki_v1_RemoveOp__Output } from './kiseki/v1/RemoveOp.ts';
import type { RenameOp as _kiseki_v1_RenameOp, RenameOp__Output as _kiseki_v1_RenameOp__Output } from './kiseki/v1/RenameOp.ts';
import type { RenewLockLeaseRequest as _kiseki_v1_RenewLockLeaseRequest, RenewLockLeaseRequest__Output as _kiseki_v1_RenewLockLeaseRequest__Output } from './kiseki/v1/RenewLockLeaseRequest.ts';
import type { RenewLockLeaseResponse as _kiseki_v1_RenewLockLeaseResponse, RenewLockLeaseResponse__Output as _kiseki_v1_RenewLockLeaseResponse__Output } from './kiseki/v1/RenewLockLeaseResponse.ts';
import type { SessionClient as _kiseki_v1_SessionClient, SessionDefinition as _kiseki_v1_SessionDefinition } from './kiseki/v1/Session.ts';
import type { SetAttrOp as _kiseki_v1_SetAttrOp, SetAttrOp__Output as _kiseki_v1_SetAttrOp__Output } from './kiseki/v1/SetAttrOp.ts';
import type { ShardStatus as _kiseki_v1_ShardStatus, ShardStatus__Output as _kiseki_v1_ShardStatus__Output } from './kiseki/v1/ShardStatus.ts';
import type { StatFsResponse as _kiseki_v1_StatFsResponse, StatFsResponse__Output as _kiseki_v1_StatFsResponse__Output } from './kiseki/v1/StatFsResponse.ts';
import type { StatusResponse as _kiseki_v1_StatusResponse, StatusResponse__Output as _kiseki_v1_StatusResponse__Output } from './kiseki/v1/StatusResponse.ts';
import type { TenantInfo as _kiseki_v1_TenantInfo, TenantInfo__Output as _kiseki_v1_TenantInfo__Output } from './kiseki/v1/TenantInfo.ts';
import type { TenantKeys as _kiseki_v1_TenantKeys, TenantKeys__Output as _kiseki_v1_TenantKeys__Output } from './kiseki/v1/TenantKeys.ts';
import type { TestLockResponse as _kiseki_v1_TestLockResponse, TestLockResponse__Output as _kiseki_v1_TestLockResponse__Output } from './kiseki/v1/TestLockResponse.ts';
import type { Timespec as _kiseki_v1_Timespec, Timespec__Output as _kiseki_v1_Timespec__Output } from './kiseki/v1/Timespec.ts';
import type { UnlockRequest as _kiseki_v1_UnlockRequest, UnlockRequest__Output as _kiseki_v1_UnlockRequest__Output } from './kiseki/v1/UnlockRequest.ts';
import type { UnpinRequest as _kiseki_v1_UnpinRequest, UnpinRequest__Output as _kiseki_v1_UnpinRequest__Output } from './kiseki/v1/UnpinRequest.ts';
import type { ViewClient as _kiseki_v1_ViewClient, ViewDefinition as _kiseki_v1_ViewDefinition } from './kiseki/v1/View.ts';
import type { WatchRequest as _kiseki_v1_WatchRequest, WatchRequest__Output as _kiseki_v1_WatchRequest__Output } from './kiseki/v1/WatchRequest.ts';
import type { WriteOp as _kiseki_v1_WriteOp, WriteOp__Output as _kiseki_v1_WriteOp__Output } from './kiseki/v1/WriteOp.ts';
import type { Xattr as _kiseki_v1_Xattr, Xattr__Output as _kiseki_v1_Xattr__Output } from './kiseki/v1/Xattr.ts';
import type { XattrOp as _kiseki_v1_XattrOp, XattrOp__Output as _kiseki_v1_XattrOp__Output } from './kiseki/v1/XattrOp.ts';
import type { XattrPayload as _kiseki_v1_XattrPayload, XattrPayload__Output as _kiseki_v1_XattrPayload__Output } from './kiseki/v1/XattrPayload.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  kiseki: {
    v1: {
      AppendRequest: MessageTypeDefinition<_kiseki_v1_AppendRequest, _kiseki_v1_AppendRequest__Output>
      AppendResponse: MessageTypeDefinition<_kiseki_v1_AppendResponse, _kiseki_v1_AppendResponse__Output>
      Attr: MessageTypeDefinition<_kiseki_v1_Attr, _kiseki_v1_Attr__Output>
      BlockRef: MessageTypeDefinition<_kiseki_v1_BlockRef, _kiseki_v1_BlockRef__Output>
      Chunk: SubtypeConstructor<typeof grpc.Client, _kiseki_v1_ChunkClient> & { service: _kiseki_v1_ChunkDefinition }
      Composition: SubtypeConstructor<typeof grpc.Client, _kiseki_v1_CompositionClient> & { service: _kiseki_v1_CompositionDefinition }
      Control: SubtypeConstructor<typeof grpc.Client, _kiseki_v1_ControlClient> & { service: _kiseki_v1_ControlDefinition }
      CreateOp: MessageTypeDefinition<_kiseki_v1_CreateOp, _kiseki_v1_CreateOp__Output>
      CreateTenantRequest: MessageTypeDefinition<_kiseki_v1_CreateTenantRequest, _kiseki_v1_CreateTenantRequest__Output>
      CreateTenantResponse: MessageTypeDefinition<_kiseki_v1_CreateTenantResponse, _kiseki_v1_CreateTenantResponse__Output>
      DedupPolicy: EnumTypeDefinition
      DeltaHeader: MessageTypeDefinition<_kiseki_v1_DeltaHeader, _kiseki_v1_DeltaHeader__Output>
      DirEntry: MessageTypeDefinition<_kiseki_v1_DirEntry, _kiseki_v1_DirEntry__Output>
      Empty: MessageTypeDefinition<_kiseki_v1_Empty, _kiseki_v1_Empty__Output>
      EntryPayload: MessageTypeDefinition<_kiseki_v1_EntryPayload, _kiseki_v1_EntryPayload__Output>
      EpochKeys: MessageTypeDefinition<_kiseki_v1_EpochKeys, _kiseki_v1_EpochKeys__Output>
      FileKind: EnumTypeDefinition
      GetAttrRequest: MessageTypeDefinition<_kiseki_v1_GetAttrRequest, _kiseki_v1_GetAttrRequest__Output>
      GetBlocksRequest: MessageTypeDefinition<_kiseki_v1_GetBlocksRequest, _kiseki_v1_GetBlocksRequest__Output>
      GetBlocksResponse: MessageTypeDefinition<_kiseki_v1_GetBlocksResponse, _kiseki_v1_GetBlocksResponse__Output>
      GetChunkRequest: MessageTypeDefinition<_kiseki_v1_GetChunkRequest, _kiseki_v1_GetChunkRequest__Output>
      GetChunkResponse: MessageTypeDefinition<_kiseki_v1_GetChunkResponse, _kiseki_v1_GetChunkResponse__Output>
      HasChunksRequest: MessageTypeDefinition<_kiseki_v1_HasChunksRequest, _kiseki_v1_HasChunksRequest__Output>
      HasChunksResponse: MessageTypeDefinition<_kiseki_v1_HasChunksResponse, _kiseki_v1_HasChunksResponse__Output>
      Key: SubtypeConstructor<typeof grpc.Client, _kiseki_v1_KeyClient> & { service: _kiseki_v1_KeyDefinition }
      LinkOp: MessageTypeDefinition<_kiseki_v1_LinkOp, _kiseki_v1_LinkOp__Output>
      ListNamespacesRequest: MessageTypeDefinition<_kiseki_v1_ListNamespacesRequest, _kiseki_v1_ListNamespacesRequest__Output>
      ListNamespacesResponse: MessageTypeDefinition<_kiseki_v1_ListNamespacesResponse, _kiseki_v1_ListNamespacesResponse__Output>
      ListTenantsResponse: MessageTypeDefinition<_kiseki_v1_ListTenantsResponse, _kiseki_v1_ListTenantsResponse__Output>
      ListXattrsRequest: MessageTypeDefinition<_kiseki_v1_ListXattrsRequest, _kiseki_v1_ListXattrsRequest__Output>
      ListXattrsResponse: MessageTypeDefinition<_kiseki_v1_ListXattrsResponse, _kiseki_v1_ListXattrsResponse__Output>
      /**
       * Advisory file locks (fcntl record locks and flock) shared by every client of a tenant, held
       * under a lease that Renew extends. After a server restart (a new epoch in Renew's answer)
       * clients reclaim the locks they held; for one lease only reclaims are granted.
       */
      Lock: SubtypeConstructor<typeof grpc.Client, _kiseki_v1_LockClient> & { service: _kiseki_v1_LockDefinition }
      LockKind: EnumTypeDefinition
      LockRequest: MessageTypeDefinition<_kiseki_v1_LockRequest, _kiseki_v1_LockRequest__Output>
      LockResponse: MessageTypeDefinition<_kiseki_v1_LockResponse, _kiseki_v1_LockResponse__Output>
      LockType: EnumTypeDefinition
      Log: SubtypeConstructor<typeof grpc.Client, _kiseki_v1_LogClient> & { service: _kiseki_v1_LogDefinition }
      LogEntry: MessageTypeDefinition<_kiseki_v1_LogEntry, _kiseki_v1_LogEntry__Output>
      LookupRequest: MessageTypeDefinition<_kiseki_v1_LookupRequest, _kiseki_v1_LookupRequest__Output>
      LookupResponse: MessageTypeDefinition<_kiseki_v1_LookupResponse, _kiseki_v1_LookupResponse__Output>
      MutateRequest: MessageTypeDefinition<_kiseki_v1_MutateRequest, _kiseki_v1_MutateRequest__Output>
      MutateResponse: MessageTypeDefinition<_kiseki_v1_MutateResponse, _kiseki_v1_MutateResponse__Output>
      NamespaceInfo: MessageTypeDefinition<_kiseki_v1_NamespaceInfo, _kiseki_v1_NamespaceInfo__Output>
      OpenSessionRequest: MessageTypeDefinition<_kiseki_v1_OpenSessionRequest, _kiseki_v1_OpenSessionRequest__Output>
      OpenSessionResponse: MessageTypeDefinition<_kiseki_v1_OpenSessionResponse, _kiseki_v1_OpenSessionResponse__Output>
      PinRequest: MessageTypeDefinition<_kiseki_v1_PinRequest, _kiseki_v1_PinRequest__Output>
      PinResponse: MessageTypeDefinition<_kiseki_v1_PinResponse, _kiseki_v1_PinResponse__Output>
      PutChunkRequest: MessageTypeDefinition<_kiseki_v1_PutChunkRequest, _kiseki_v1_PutChunkRequest__Output>
      PutChunkResponse: MessageTypeDefinition<_kiseki_v1_PutChunkResponse, _kiseki_v1_PutChunkResponse__Output>
      ReadDirRequest: MessageTypeDefinition<_kiseki_v1_ReadDirRequest, _kiseki_v1_ReadDirRequest__Output>
      ReadDirResponse: MessageTypeDefinition<_kiseki_v1_ReadDirResponse, _kiseki_v1_ReadDirResponse__Output>
      ReadOptions: MessageTypeDefinition<_kiseki_v1_ReadOptions, _kiseki_v1_ReadOptions__Output>
      ReadRangeRequest: MessageTypeDefinition<_kiseki_v1_ReadRangeRequest, _kiseki_v1_ReadRangeRequest__Output>
      ReadRangeResponse: MessageTypeDefinition<_kiseki_v1_ReadRangeResponse, _kiseki_v1_ReadRangeResponse__Output>
      ReleaseChunkRequest: MessageTypeDefinition<_kiseki_v1_ReleaseChunkRequest, _kiseki_v1_ReleaseChunkRequest__Output>
      RemoveOp: MessageTypeDefinition<_kiseki_v1_RemoveOp, _kiseki_v1_RemoveOp__Output>
      RenameOp: MessageTypeDefinition<_kiseki_v1_RenameOp, _kiseki_v1_RenameOp__Output>
      RenewLockLeaseRequest: MessageTypeDefinition<_kiseki_v1_RenewLockLeaseRequest, _kiseki_v1_RenewLockLeaseRequest__Output>
      RenewLockLeaseResponse: MessageTypeDefinition<_kiseki_v1_RenewLockLeaseResponse, _kiseki_v1_RenewLockLeaseResponse__Output>
      Session: SubtypeConstructor<typeof grpc.Client, _kiseki_v1_SessionClient> & { service: _kiseki_v1_SessionDefinition }
      SetAttrOp: MessageTypeDefinition<_kiseki_v1_SetAttrOp, _kiseki_v1_SetAttrOp__Output>
      ShardStatus: MessageTypeDefinition<_kiseki_v1_ShardStatus, _kiseki_v1_ShardStatus__Output>
      StatFsResponse: MessageTypeDefinition<_kiseki_v1_StatFsResponse, _kiseki_v1_StatFsResponse__Output>
      StatusResponse: MessageTypeDefinition<_kiseki_v1_StatusResponse, _kiseki_v1_StatusResponse__Output>
      TenantInfo: MessageTypeDefinition<_kiseki_v1_TenantInfo, _kiseki_v1_TenantInfo__Output>
      TenantKeys: MessageTypeDefinition<_kiseki_v1_TenantKeys, _kiseki_v1_TenantKeys__Output>
      TestLockResponse: MessageTypeDefinition<_kiseki_v1_TestLockResponse, _kiseki_v1_TestLockResponse__Output>
      Timespec: MessageTypeDefinition<_kiseki_v1_Timespec, _kiseki_v1_Timespec__Output>
      UnlockRequest: MessageTypeDefinition<_kiseki_v1_UnlockRequest, _kiseki_v1_UnlockRequest__Output>
      UnpinRequest: MessageTypeDefinition<_kiseki_v1_UnpinRequest, _kiseki_v1_UnpinRequest__Output>
      View: SubtypeConstructor<typeof grpc.Client, _kiseki_v1_ViewClient> & { service: _kiseki_v1_ViewDefinition }
      WatchRequest: MessageTypeDefinition<_kiseki_v1_WatchRequest, _kiseki_v1_WatchRequest__Output>
      WriteOp: MessageTypeDefinition<_kiseki_v1_WriteOp, _kiseki_v1_WriteOp__Output>
      Xattr: MessageTypeDefinition<_kiseki_v1_Xattr, _kiseki_v1_Xattr__Output>
      XattrMode: EnumTypeDefinition
      XattrOp: MessageTypeDefinition<_kiseki_v1_XattrOp, _kiseki_v1_XattrOp__Output>
      XattrPayload: MessageTypeDefinition<_kiseki_v1_XattrPayload, _kiseki_v1_XattrPayload__Output>
    }
  }
}

