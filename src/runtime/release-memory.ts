/**
 * Frees a received frame's memory the moment the pipeline lets go of it, instead of at V8's next full collection.
 *
 * Why: a raw frame is 2.2 MB of memory outside the JavaScript heap. One held a little while (the first exposure of
 * a point waits for the second) outlives the young generation, and V8 then frees it only in a full mark-compact,
 * which it triggers by the volume of such memory and which marks the whole heap: at detector rates that was the
 * whole cost of ingest over a bare receive loop (bench `ingest`). Detaching the ArrayBuffer
 * (`ArrayBuffer.prototype.transfer(0)`) releases its memory without a collection (a zeromq.js message is closed by
 * its finalizer right after), and with it V8's count of external memory.
 *
 * Only for memory nothing else uses: a buffer still queued in a zeromq.js send (zero-copy, which holds the object,
 * not the memory) or viewed by another array must not be released.
 *
 * Node 21+ has `transfer` natively; Node 20's V8 has it behind a harmony flag, and V8 installs it on contexts
 * created after the flag is set, so it is taken from a fresh context (the builtin works on any context's buffers).
 */
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { types } from "node:util";

type Transfer = (this: ArrayBuffer, newLength?: number) => ArrayBuffer;

function findTransfer(): Transfer | undefined {
  const native = (ArrayBuffer.prototype as { transfer?: Transfer }).transfer;
  if (typeof native === "function") return native;
  try {
    v8.setFlagsFromString("--harmony-rab-gsab-transfer");
    const fromFreshContext: unknown = vm.runInNewContext("ArrayBuffer.prototype.transfer");
    return typeof fromFreshContext === "function" ? (fromFreshContext as Transfer) : undefined;
  } catch {
    return undefined;
  }
}

let transfer: Transfer | undefined | null = null;

/**
 * Detaches `view`'s ArrayBuffer, freeing its memory now, when the view is the whole of a non-shared buffer (so no
 * other array loses its data). Afterwards `view` is empty (length 0). Returns whether the memory was freed; where
 * this Node cannot detach, the memory goes at the next collection as before.
 */
export function releaseMemory(view: ArrayBufferView): boolean {
  const buffer = view.buffer;
  // types.isArrayBuffer, not instanceof: buffers from Node's own context are not the test sandbox's ArrayBuffers.
  if (!types.isArrayBuffer(buffer) || buffer.byteLength === 0) return false;
  if (view.byteOffset !== 0 || view.byteLength !== buffer.byteLength) return false;
  if (transfer === null) transfer = findTransfer();
  if (transfer === undefined) return false;
  transfer.call(buffer, 0);
  return true;
}
