import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer) => b;

/**
 * A bare unary gRPC client (bytes in, bytes out) for benchmarks that talk to other systems
 * (etcd) from this repository's test code, which has no gRPC dependency of its own.
 */
export class RawUnaryClient {
  readonly #client: grpc.Client;
  constructor(address: string, caCert?: Buffer) {
    const creds =
      caCert === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(caCert);
    this.#client = new grpc.Client(address, creds);
  }
  call(path: string, body: Buffer, timeoutMs = 10_000): Promise<Buffer> {
    return new Promise((resolve, reject) =>
      this.#client.makeUnaryRequest<Buffer, Buffer>(
        path,
        identity,
        identity,
        body,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? reject(err) : resolve(res ?? Buffer.alloc(0))),
      ),
    );
  }
  close(): void {
    this.#client.close();
  }
}
