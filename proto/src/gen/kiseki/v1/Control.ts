// Original file: proto/kiseki/v1/services.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CreateTenantRequest as _kiseki_v1_CreateTenantRequest, CreateTenantRequest__Output as _kiseki_v1_CreateTenantRequest__Output } from '../../kiseki/v1/CreateTenantRequest.ts';
import type { CreateTenantResponse as _kiseki_v1_CreateTenantResponse, CreateTenantResponse__Output as _kiseki_v1_CreateTenantResponse__Output } from '../../kiseki/v1/CreateTenantResponse.ts';
import type { Empty as _kiseki_v1_Empty, Empty__Output as _kiseki_v1_Empty__Output } from '../../kiseki/v1/Empty.ts';
import type { ListNamespacesRequest as _kiseki_v1_ListNamespacesRequest, ListNamespacesRequest__Output as _kiseki_v1_ListNamespacesRequest__Output } from '../../kiseki/v1/ListNamespacesRequest.ts';
import type { ListNamespacesResponse as _kiseki_v1_ListNamespacesResponse, ListNamespacesResponse__Output as _kiseki_v1_ListNamespacesResponse__Output } from '../../kiseki/v1/ListNamespacesResponse.ts';
import type { ListTenantsResponse as _kiseki_v1_ListTenantsResponse, ListTenantsResponse__Output as _kiseki_v1_ListTenantsResponse__Output } from '../../kiseki/v1/ListTenantsResponse.ts';
import type { StatusResponse as _kiseki_v1_StatusResponse, StatusResponse__Output as _kiseki_v1_StatusResponse__Output } from '../../kiseki/v1/StatusResponse.ts';

export interface ControlClient extends grpc.Client {
  CreateTenant(argument: _kiseki_v1_CreateTenantRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_CreateTenantResponse__Output>): grpc.ClientUnaryCall;
  CreateTenant(argument: _kiseki_v1_CreateTenantRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_CreateTenantResponse__Output>): grpc.ClientUnaryCall;
  CreateTenant(argument: _kiseki_v1_CreateTenantRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_CreateTenantResponse__Output>): grpc.ClientUnaryCall;
  CreateTenant(argument: _kiseki_v1_CreateTenantRequest, callback: grpc.requestCallback<_kiseki_v1_CreateTenantResponse__Output>): grpc.ClientUnaryCall;
  createTenant(argument: _kiseki_v1_CreateTenantRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_CreateTenantResponse__Output>): grpc.ClientUnaryCall;
  createTenant(argument: _kiseki_v1_CreateTenantRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_CreateTenantResponse__Output>): grpc.ClientUnaryCall;
  createTenant(argument: _kiseki_v1_CreateTenantRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_CreateTenantResponse__Output>): grpc.ClientUnaryCall;
  createTenant(argument: _kiseki_v1_CreateTenantRequest, callback: grpc.requestCallback<_kiseki_v1_CreateTenantResponse__Output>): grpc.ClientUnaryCall;
  
  ListNamespaces(argument: _kiseki_v1_ListNamespacesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  ListNamespaces(argument: _kiseki_v1_ListNamespacesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  ListNamespaces(argument: _kiseki_v1_ListNamespacesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  ListNamespaces(argument: _kiseki_v1_ListNamespacesRequest, callback: grpc.requestCallback<_kiseki_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  listNamespaces(argument: _kiseki_v1_ListNamespacesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  listNamespaces(argument: _kiseki_v1_ListNamespacesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  listNamespaces(argument: _kiseki_v1_ListNamespacesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  listNamespaces(argument: _kiseki_v1_ListNamespacesRequest, callback: grpc.requestCallback<_kiseki_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  
  ListTenants(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ListTenantsResponse__Output>): grpc.ClientUnaryCall;
  ListTenants(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_ListTenantsResponse__Output>): grpc.ClientUnaryCall;
  ListTenants(argument: _kiseki_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ListTenantsResponse__Output>): grpc.ClientUnaryCall;
  ListTenants(argument: _kiseki_v1_Empty, callback: grpc.requestCallback<_kiseki_v1_ListTenantsResponse__Output>): grpc.ClientUnaryCall;
  listTenants(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ListTenantsResponse__Output>): grpc.ClientUnaryCall;
  listTenants(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_ListTenantsResponse__Output>): grpc.ClientUnaryCall;
  listTenants(argument: _kiseki_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_ListTenantsResponse__Output>): grpc.ClientUnaryCall;
  listTenants(argument: _kiseki_v1_Empty, callback: grpc.requestCallback<_kiseki_v1_ListTenantsResponse__Output>): grpc.ClientUnaryCall;
  
  Status(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  Status(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  Status(argument: _kiseki_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  Status(argument: _kiseki_v1_Empty, callback: grpc.requestCallback<_kiseki_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  status(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  status(argument: _kiseki_v1_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_kiseki_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  status(argument: _kiseki_v1_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_kiseki_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  status(argument: _kiseki_v1_Empty, callback: grpc.requestCallback<_kiseki_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface ControlHandlers extends grpc.UntypedServiceImplementation {
  CreateTenant: grpc.handleUnaryCall<_kiseki_v1_CreateTenantRequest__Output, _kiseki_v1_CreateTenantResponse>;
  
  ListNamespaces: grpc.handleUnaryCall<_kiseki_v1_ListNamespacesRequest__Output, _kiseki_v1_ListNamespacesResponse>;
  
  ListTenants: grpc.handleUnaryCall<_kiseki_v1_Empty__Output, _kiseki_v1_ListTenantsResponse>;
  
  Status: grpc.handleUnaryCall<_kiseki_v1_Empty__Output, _kiseki_v1_StatusResponse>;
  
}

export interface ControlDefinition extends grpc.ServiceDefinition {
  CreateTenant: MethodDefinition<_kiseki_v1_CreateTenantRequest, _kiseki_v1_CreateTenantResponse, _kiseki_v1_CreateTenantRequest__Output, _kiseki_v1_CreateTenantResponse__Output>
  ListNamespaces: MethodDefinition<_kiseki_v1_ListNamespacesRequest, _kiseki_v1_ListNamespacesResponse, _kiseki_v1_ListNamespacesRequest__Output, _kiseki_v1_ListNamespacesResponse__Output>
  ListTenants: MethodDefinition<_kiseki_v1_Empty, _kiseki_v1_ListTenantsResponse, _kiseki_v1_Empty__Output, _kiseki_v1_ListTenantsResponse__Output>
  Status: MethodDefinition<_kiseki_v1_Empty, _kiseki_v1_StatusResponse, _kiseki_v1_Empty__Output, _kiseki_v1_StatusResponse__Output>
}
