export { Materializer } from './materializer.ts';
export {
  type BlockRec,
  type DirentRec,
  type InodeRec,
  type Kind,
  kindFromWire,
  kindToWire,
  toAttr,
} from './records.ts';
export { type ReadCtx, ROOT, ViewStore } from './store.ts';
