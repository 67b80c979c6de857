/**
 * Runtime loading of the v1 gRPC services. The .proto files are the source of truth; the
 * types in ./gen are generated from them by `pnpm proto:gen` (proto-loader-gen-types, pinned).
 * Loader options here must match the generator flags in ../gen.sh.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './gen/services.ts';

export const PROTO_DIR = fileURLToPath(new URL('../proto', import.meta.url));

export const LOADER_OPTIONS: protoLoader.Options = {
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let cached: ProtoGrpcType | undefined;

/** The `kiseki.v1` package: service constructors (clients) and service definitions (servers). */
export function kisekiV1(): ProtoGrpcType['kiseki']['v1'] {
  if (!cached) {
    const def = protoLoader.loadSync('kiseki/v1/services.proto', LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return cached.kiseki.v1;
}

/** Largest gRPC message either side accepts: metadata calls stay small; bulk bytes use HTTP. */
export const GRPC_MESSAGE_BYTES_MAX = 32 * 1024 * 1024;

export type { ProtoGrpcType } from './gen/services.ts';
