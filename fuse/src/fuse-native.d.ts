declare module 'fuse-native' {
  type Cb = (...args: unknown[]) => void;
  class Fuse {
    constructor(mnt: string, ops: Record<string, (...args: never[]) => void>, opts?: Record<string, unknown>);
    mnt: string;
    opts: Record<string, unknown>;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    _fuseOptions(): string;
    static unmount(mnt: string, cb: Cb): void;
    static isConfigured(cb: (err: Error | null, yes: boolean) => void): void;
  }
  export = Fuse;
}
