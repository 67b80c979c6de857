/**
 * `pnpm bench transport`: how fast 1 MiB chunk envelopes move from a client to a real
 * kiseki-server over gRPC (Chunk.Put, unary) and over the HTTP chunk transport (undici),
 * against a plain TCP socket on loopback in the same run. Also AES-256-GCM and SHA-256 rates.
 * Decides docs/decisions/0004-chunk-transport.md and 0005-crypto.md.
 */
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, connect as netConnect } from 'node:net';
import { sealChunk } from '../../client/src/crypto/index.ts';
import { cleanup, sdk, startServer } from '../e2e/harness.ts';

const MIB = 1024 * 1024;
const COUNT = Number(process.env.KISEKI_BENCH_CHUNKS ?? 256);

function line(figure: string, value: number, unit: string, refName: string, ref: number): void {
  console.log(
    `bench transport ${figure}: ${value.toFixed(1)} ${unit} | ${refName}: ${ref.toFixed(1)} ${unit} | ratio ${(value / ref).toFixed(2)}`,
  );
}

async function plainSocketMBps(bytes: number): Promise<number> {
  const server = createServer((s) => {
    let got = 0;
    s.on('data', (d) => {
      got += d.length;
      if (got >= bytes) s.end('k');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const buf = randomBytes(MIB);
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    const c = netConnect(port, '127.0.0.1', () => {
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          sent += buf.length;
          if (!c.write(buf)) return void c.once('drain', pump);
        }
      };
      pump();
    });
    c.on('data', () => {
      c.destroy();
      resolve();
    });
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  server.close();
  return bytes / MIB / s;
}

async function main(): Promise<void> {
  const server = await startServer({ deviceSizeBytes: 4 * 1024 ** 3 });
  const k = await sdk(server);
  try {
    const keys = await k.client.keys();
    const envelopes = Array.from({ length: COUNT }, () => {
      const pt = randomBytes(MIB);
      const id = keys.chunkId(pt);
      return { id, env: sealChunk(keys, id, pt) };
    });
    const socket = await plainSocketMBps(COUNT * MIB);

    // gRPC unary, 4 in flight
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < COUNT; i += 4) {
      await Promise.all(
        envelopes
          .slice(i, i + 4)
          .map((e) =>
            k.client.rpc.call(k.client.rpc.clients.chunk, 'Put', { chunkId: e.id, envelope: e.env }),
          ),
      );
    }
    const grpc = (COUNT * MIB) / MIB / (Number(process.hrtime.bigint() - t0) / 1e9);

    // HTTP chunk transport, fresh ids so the puts are real writes, 4 in flight
    const fresh = envelopes.map(() => {
      const pt = randomBytes(MIB);
      const id = keys.chunkId(pt);
      return { id, env: sealChunk(keys, id, pt) };
    });
    const { ChunkTransport } = await import('../../client/src/chunk-transport.ts');
    const session = await k.client.rpc.openSession(
      'default',
      (await import('node:fs')).readFileSync(`${server.home}/tenants/default.credential`, 'utf8').trim(),
      'bench',
    );
    const http = new ChunkTransport(
      session.chunkUrl,
      'default',
      () => session.sessionToken,
      async () => session.sessionToken,
    );
    t0 = process.hrtime.bigint();
    for (let i = 0; i < COUNT; i += 4) {
      await Promise.all(fresh.slice(i, i + 4).map((e) => http.put(e.id.toString('hex'), e.env)));
    }
    const httpMBps = (COUNT * MIB) / MIB / (Number(process.hrtime.bigint() - t0) / 1e9);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < COUNT; i += 4) {
      await Promise.all(fresh.slice(i, i + 4).map((e) => http.get(e.id.toString('hex'))));
    }
    const httpGet = (COUNT * MIB) / MIB / (Number(process.hrtime.bigint() - t0) / 1e9);
    await http.close();

    line('grpc-unary-put-1MiB', grpc, 'MB/s', 'tcp-socket', socket);
    line('http-put-1MiB', httpMBps, 'MB/s', 'tcp-socket', socket);
    line('http-get-1MiB', httpGet, 'MB/s', 'tcp-socket', socket);
    line('http-put-vs-grpc', httpMBps, 'MB/s', 'grpc-unary', grpc);
  } finally {
    await k.close();
    await server.stop();
    cleanup(server.home);
  }

  // Crypto rates, single core.
  const key = randomBytes(32);
  for (const size of [MIB, 64 * 1024, 4096]) {
    const buf = randomBytes(size);
    const n = Math.max(64, Math.floor((256 * MIB) / size));
    let t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
      c.update(buf);
      c.final();
      c.getAuthTag();
    }
    const gcm = (n * size) / MIB / (Number(process.hrtime.bigint() - t) / 1e9);
    t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) createHash('sha256').update(buf).digest();
    const sha = (n * size) / MIB / (Number(process.hrtime.bigint() - t) / 1e9);
    t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) createHmac('sha256', key).update(buf).digest();
    const hmac = (n * size) / MIB / (Number(process.hrtime.bigint() - t) / 1e9);
    line(`aes-256-gcm-${size}B`, gcm, 'MB/s', 'sha-256', sha);
    line(`hmac-sha-256-${size}B`, hmac, 'MB/s', 'sha-256', sha);
  }
}

await main();
