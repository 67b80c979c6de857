/** Maps async handlers and KisekiErrors onto @grpc/grpc-js calls. */
import * as grpc from '@grpc/grpc-js';
import { AssertionError, type ChunkEnvelopeHeader, KisekiError, parseChunkEnvelope } from '@kiseki/proto';
import type { Logger } from 'pino';

export function toServiceError(err: unknown, log: Logger, method: string): Partial<grpc.StatusObject> {
  if (err instanceof KisekiError) {
    const md = new grpc.Metadata();
    md.set('kiseki-code', err.code);
    return { code: err.grpcStatus, details: `${err.code}: ${err.message}`, metadata: md };
  }
  if (err instanceof AssertionError) {
    // Our own bug at a point where continuing could corrupt data: fail loudly.
    log.fatal({ err, method }, 'invariant violated; stopping');
    setImmediate(() => process.exit(70));
  } else {
    log.error({ err, method }, 'unexpected error');
  }
  return { code: grpc.status.INTERNAL, details: 'KISEKI_E_INTERNAL: internal error; see the server log' };
}

export function unary<Req, Res>(
  log: Logger,
  method: string,
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => callback(null, res),
        (err) => callback(toServiceError(err, log, method) as grpc.ServiceError),
      );
  };
}

export function authorization(call: { metadata: grpc.Metadata }): string | undefined {
  const v = call.metadata.get('authorization')[0];
  return typeof v === 'string' ? v : undefined;
}

/** A chunk envelope sent by a client: malformed framing is the client's bad input (400), not
 * corruption on our side. */
export function parseClientEnvelope(body: Uint8Array): ChunkEnvelopeHeader {
  try {
    return parseChunkEnvelope(body);
  } catch (err) {
    if (err instanceof KisekiError)
      throw new KisekiError('KISEKI_E_INVAL', `body is not a chunk envelope: ${err.message}`);
    throw err;
  }
}
