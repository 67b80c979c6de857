/**
 * Protobuf encoding of the messages that are stored, not just sent: the delta header and the
 * sealed entry payload. Same .proto as the wire, decoded to the same object shape as gRPC
 * (numbers for 64-bit ints, strings for enums, defaults filled in, oneof names set).
 */
import protobuf from 'protobufjs';
import type { DeltaHeader, DeltaHeader__Output } from './gen/kiseki/v1/DeltaHeader.ts';
import type { EntryPayload, EntryPayload__Output } from './gen/kiseki/v1/EntryPayload.ts';
import type { XattrPayload, XattrPayload__Output } from './gen/kiseki/v1/XattrPayload.ts';
import { PROTO_DIR } from './rpc.ts';

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : `${PROTO_DIR}/${target}`);
root.loadSync(['kiseki/v1/common.proto', 'kiseki/v1/delta.proto'], { keepCase: false });
root.resolveAll();

const CONVERSION: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
};

function codec<In extends object, Out>(name: string) {
  const type = root.lookupType(name);
  return {
    encode(msg: In): Uint8Array {
      // fromObject accepts the gRPC-side shape (string enums, number longs, Buffers).
      return type.encode(type.fromObject(msg as Record<string, unknown>)).finish();
    },
    decode(bytes: Uint8Array): Out {
      return type.toObject(type.decode(bytes), CONVERSION) as Out;
    },
  };
}

export const DeltaHeaderCodec = codec<DeltaHeader, DeltaHeader__Output>('kiseki.v1.DeltaHeader');
export const EntryPayloadCodec = codec<EntryPayload, EntryPayload__Output>('kiseki.v1.EntryPayload');
export const XattrPayloadCodec = codec<XattrPayload, XattrPayload__Output>('kiseki.v1.XattrPayload');
