import { releaseMemory } from "../../src/runtime/release-memory";

describe("releaseMemory", () => {
  it("detaches an array that is the whole of its buffer: its memory is gone, the array empty", () => {
    const frame = new Uint16Array(960 * 1152).fill(7);
    expect(releaseMemory(frame)).toBe(true);
    expect(frame.length).toBe(0);
    expect(frame.buffer.byteLength).toBe(0);
  });

  it("frees a Buffer that owns its memory, as zeromq.js hands received parts over", () => {
    const part = Buffer.from(new Uint8Array(1 << 20).fill(1).buffer);
    expect(releaseMemory(part)).toBe(true);
    expect(part.byteLength).toBe(0);
  });

  it("leaves alone a view onto part of a buffer (others' data) and shared memory", () => {
    const whole = new Uint16Array(100).fill(3);
    const part = whole.subarray(10, 20);
    expect(releaseMemory(part)).toBe(false);
    expect(whole.length).toBe(100);
    expect(part[0]).toBe(3);
    const pooled = Buffer.from("a small message"); // from Node's shared 8 kB pool
    expect(releaseMemory(pooled)).toBe(false);
    expect(pooled.toString()).toBe("a small message");
    const shared = new Float32Array(new SharedArrayBuffer(64));
    expect(releaseMemory(shared)).toBe(false);
    expect(shared.length).toBe(16);
  });
});
