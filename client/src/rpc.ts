/**
 * The client's gRPC side: TLS channel to a node, session token in every call, one automatic
 * re-open of the session when the server no longer knows it (after a restart), and gRPC
 * failures turned back into KisekiErrors with their stable codes.
 */
import * as grpc from '@grpc/grpc-js';
import {
  GRPC_MESSAGE_BYTES_MAX,
  GrpcStatus,
  isErrorCode,
  KisekiError,
  kisekiV1,
  type OpenSessionResponse__Output,
  type ProtoGrpcType,
} from '@kiseki/proto';

export const CALL_TIMEOUT_MS_DEFAULT = 30_000;
export const CONNECT_TIMEOUT_MS_DEFAULT = 10_000;
export const UNAVAILABLE_RETRY_MS = 20_000;

type V1 = ProtoGrpcType['kiseki']['v1'];
type Clients = {
  session: InstanceType<V1['Session']>;
  key: InstanceType<V1['Key']>;
  composition: InstanceType<V1['Composition']>;
  view: InstanceType<V1['View']>;
  chunk: InstanceType<V1['Chunk']>;
  control: InstanceType<V1['Control']>;
  log: InstanceType<V1['Log']>;
  lock: InstanceType<V1['Lock']>;
};

export interface RpcOptions {
  /** host:port of a kiseki-server gRPC endpoint. */
  readonly server: string;
  /** PEM of the cluster CA that signed the node certificate. */
  readonly caCert: Buffer;
  readonly callTimeoutMs?: number;
}

/** Turns a gRPC failure into a KisekiError, keeping the server's stable code when it sent one. */
export function fromServiceError(err: grpc.ServiceError, server: string): KisekiError {
  const code = err.metadata?.get('kiseki-code')[0];
  if (typeof code === 'string' && isErrorCode(code)) {
    const msg = err.details?.startsWith(`${code}: `) ? err.details.slice(code.length + 2) : err.details;
    return new KisekiError(code, msg);
  }
  switch (err.code) {
    case GrpcStatus.UNAVAILABLE:
      return new KisekiError(
        'KISEKI_E_UNAVAILABLE',
        `kiseki-server at ${server} is not reachable (${err.details}); is it running?`,
      );
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new KisekiError('KISEKI_E_TIMEOUT', `kiseki-server at ${server} did not answer in time`);
    case GrpcStatus.UNAUTHENTICATED:
      return new KisekiError('KISEKI_E_AUTH', err.details);
    default:
      return new KisekiError('KISEKI_E_INTERNAL', `kiseki-server error: ${err.details}`);
  }
}

export class Rpc {
  readonly clients: Clients;
  readonly server: string;
  readonly #timeoutMs: number;
  #token = '';
  #reopen: (() => Promise<string>) | undefined;
  #reopening: Promise<string> | undefined;

  constructor(opts: RpcOptions) {
    const v1 = kisekiV1();
    const creds = grpc.credentials.createSsl(opts.caCert);
    const channelOpts: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': GRPC_MESSAGE_BYTES_MAX,
      'grpc.max_send_message_length': GRPC_MESSAGE_BYTES_MAX,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
      // TLS SNI can't carry an IP address; node certificates also name localhost.
      ...(/^[\d.]+:\d+$|^\[/.test(opts.server) ? { 'grpc.ssl_target_name_override': 'localhost' } : {}),
    };
    const session = new v1.Session(opts.server, creds, channelOpts);
    const shared = { channelOverride: session.getChannel() } as grpc.ClientOptions;
    this.clients = {
      session,
      key: new v1.Key(opts.server, creds, shared),
      composition: new v1.Composition(opts.server, creds, shared),
      view: new v1.View(opts.server, creds, shared),
      chunk: new v1.Chunk(opts.server, creds, shared),
      control: new v1.Control(opts.server, creds, shared),
      log: new v1.Log(opts.server, creds, shared),
      lock: new v1.Lock(opts.server, creds, shared),
    };
    this.server = opts.server;
    this.#timeoutMs = opts.callTimeoutMs ?? CALL_TIMEOUT_MS_DEFAULT;
  }

  get token(): string {
    return this.#token;
  }

  /** Uses `token` for calls; `reopen` gets a fresh one when the server forgot the session. */
  setSession(token: string, reopen?: () => Promise<string>): void {
    this.#token = token;
    this.#reopen = reopen;
  }

  /** Forces a new session token (shared by concurrent callers). */
  async refreshSession(): Promise<string> {
    if (!this.#reopen) throw new KisekiError('KISEKI_E_AUTH', 'session expired and cannot be renewed');
    this.#reopening ??= this.#reopen().finally(() => {
      this.#reopening = undefined;
    });
    this.#token = await this.#reopening;
    return this.#token;
  }

  /** One unary call with auth, deadline and error mapping; retries once on a stale session. */
  async call<Req, Res>(
    client: grpc.Client,
    method: string,
    req: Req,
    opts: { auth?: boolean; timeoutMs?: number; token?: string; idempotent?: boolean } = {},
  ): Promise<Res> {
    // Reads and other idempotent calls ride out a server restart: retried while the node is
    // unreachable, up to UNAVAILABLE_RETRY_MS. Mutations are not retried (one might have
    // committed before the connection broke); their caller sees KISEKI_E_UNAVAILABLE.
    const idempotent = opts.idempotent ?? method !== 'Mutate';
    const giveUpAt = Date.now() + UNAVAILABLE_RETRY_MS;
    for (let backoff = 100; ; backoff = Math.min(backoff * 2, 1000)) {
      try {
        return await this.#callOnce<Req, Res>(client, method, req, opts);
      } catch (err) {
        const retry =
          idempotent &&
          err instanceof KisekiError &&
          err.code === 'KISEKI_E_UNAVAILABLE' &&
          Date.now() + backoff < giveUpAt;
        if (!retry) throw err;
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  async #callOnce<Req, Res>(
    client: grpc.Client,
    method: string,
    req: Req,
    opts: { auth?: boolean; timeoutMs?: number; token?: string },
  ): Promise<Res> {
    const attempt = (token: string) =>
      new Promise<Res>((resolve, reject) => {
        const md = new grpc.Metadata();
        if (opts.auth !== false) md.set('authorization', `Bearer ${opts.token ?? token}`);
        const deadline = Date.now() + (opts.timeoutMs ?? this.#timeoutMs);
        const fn = (client as unknown as Record<string, (...a: unknown[]) => void>)[method];
        if (!fn) throw new TypeError(`no rpc method ${method}`);
        fn.call(client, req, md, { deadline }, (err: grpc.ServiceError | null, res: Res) => {
          if (err) reject(err);
          else resolve(res);
        });
      });
    try {
      return await attempt(this.#token);
    } catch (err) {
      const e = err as grpc.ServiceError;
      if (e.code === GrpcStatus.UNAUTHENTICATED && opts.auth !== false && !opts.token && this.#reopen) {
        try {
          return await attempt(await this.refreshSession());
        } catch (err2) {
          throw toKiseki(err2, this.server);
        }
      }
      throw toKiseki(err, this.server);
    }
  }

  async openSession(
    tenant: string,
    credential: string,
    clientName: string,
  ): Promise<OpenSessionResponse__Output> {
    return this.call(this.clients.session, 'Open', { tenant, credential, clientName }, { auth: false });
  }

  /** Waits until the channel is connected, or fails with a clear message. */
  async waitReady(timeoutMs = CONNECT_TIMEOUT_MS_DEFAULT): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.clients.session.waitForReady(Date.now() + timeoutMs, (err) =>
        err
          ? reject(
              new KisekiError(
                'KISEKI_E_UNAVAILABLE',
                `cannot reach kiseki-server at ${this.server}: is it running? (${err.message})`,
              ),
            )
          : resolve(),
      );
    });
  }

  close(): void {
    this.clients.session.close();
  }
}

function toKiseki(err: unknown, server: string): Error {
  if (err instanceof KisekiError) return err;
  const e = err as grpc.ServiceError;
  if (typeof e?.code === 'number') return fromServiceError(e, server);
  return err as Error;
}
