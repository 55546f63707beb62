/**
 * Lossy by design: a browser that stops reading (a WebSocket client paused, so its TCP window closes) while the
 * feed is hammered (test/viewer/hammer-viewer.ts, its own process). The feed calls stay fast (they only keep the
 * latest value), the stalled client's buffer stays near the cap (updates are held back and counted), memory stays
 * bounded, and a second client that reads keeps getting updates.
 */
import { runScript } from "./child";
import { CAP_BYTES, HammerResult } from "./hammer-viewer";

const PORT = 24020;

describe("a stalled browser", () => {
  it("never slows the feed and costs a bounded buffer; a reading client still gets updates", async () => {
    const child = runScript("test/viewer/hammer-viewer.ts", [String(PORT)], ["--expose-gc"]);
    const result: HammerResult = JSON.parse(await child.firstLine);
    expect(await child.exited).toBe(0);
    const { stats } = result;
    process.stderr.write(
      `stall: ${result.calls} feed calls, mean ${(result.meanMs * 1000).toFixed(2)} us, slowest ${result.slowestMs.toFixed(2)} ms; ` +
        `${stats.messagesSent} messages sent, ${stats.skippedSlowClient} held back, max buffered ${stats.maxBufferedBytes} B; ` +
        `reader saw ${result.rawSeenByReader} raw pictures; raw fed ${stats.fed.raw}, encoded ${stats.encoded.raw}; heap+buffers grew ${(result.grownBytes / 1e6).toFixed(1)} MB\n`,
    );
    // Feed calls keep a reference and return.
    expect(result.calls).toBeGreaterThan(2000);
    expect(result.meanMs).toBeLessThan(0.05);
    // Latest wins: most raw frames were overtaken before the timer took a picture.
    expect(stats.encoded.raw).toBeLessThan(stats.fed.raw / 10);
    // The stalled client was passed over, its buffer never far beyond the cap (one tick's messages at most).
    expect(stats.skippedSlowClient).toBeGreaterThan(0);
    expect(stats.maxBufferedBytes).toBeGreaterThan(CAP_BYTES / 2);
    expect(stats.maxBufferedBytes).toBeLessThan(CAP_BYTES + 1024 * 1024);
    // The reading client kept up meanwhile.
    expect(result.rawSeenByReader).toBeGreaterThan(10);
    // After a garbage collection the heap holds the latest values and the encoded pictures, no backlog.
    expect(result.grownBytes).toBeLessThan(16 * 1024 * 1024);
  });
});
