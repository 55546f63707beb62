/**
 * Sockets bind 127.0.0.1 by default; another interface only when an option names it. Checked by connecting from
 * this machine's other interface (where it has one): refused for the defaults, accepted for an explicit address.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { startViewer } from "../../src/viewer/feed";
import { serveRawScan } from "../../src/sources/frameserver-server";
import { PUBLISH_COSMIC_DEFAULTS } from "../../src/sinks/publish";
import { PUBLISH_REC_DEFAULTS } from "../../src/sinks/publish-rec";
import { tinyFrame, tinyStart } from "../sources/fixtures";

jest.setTimeout(60_000);

const ROOT = path.join(__dirname, "..", "..");
const otherInterface = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address;

/** True when a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}

/** Where a listener is reachable from: loopback always; the other interface only when it listens there too. */
async function reachableFrom(port: number): Promise<{ loopback: boolean; other?: boolean }> {
  return { loopback: await accepts("127.0.0.1", port), ...(otherInterface ? { other: await accepts(otherInterface, port) } : {}) };
}
const loopbackOnly = otherInterface ? { loopback: true, other: false } : { loopback: true };
const everywhere = otherInterface ? { loopback: true, other: true } : { loopback: true };

describe("bind addresses", () => {
  beforeAll(() => console.log(`other interface for the checks: ${otherInterface ?? "none (loopback-only machine: only the bound addresses are checked)"}`));

  it("the viewer serves on 127.0.0.1 by default, and on another interface only when --host names it", async () => {
    const byDefault = await startViewer({ port: 26400 });
    try {
      expect(byDefault.url).toBe("http://127.0.0.1:26400/");
      expect(await reachableFrom(26400)).toEqual(loopbackOnly);
    } finally {
      await byDefault.close();
    }
    const explicit = await startViewer({ port: 26401, host: "0.0.0.0" });
    try {
      expect(await reachableFrom(26401)).toEqual(everywhere);
    } finally {
      await explicit.close();
    }
  });

  it("the frameserver's sockets bind where their address says: loopback in every default, another interface only when named", async () => {
    const help = execFileSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), path.join(ROOT, "pipelines", "frameserver.ts"), "--help"], { cwd: ROOT }).toString();
    for (const port of [37010, 37011, 37012]) expect(help).toContain(`tcp://127.0.0.1:${port}`);
    const scan = { start: tinyStart({ numPoints: 1 }), frame: (index: number) => tinyFrame(index) };
    const loopback = await serveRawScan(scan, { frames: "tcp://127.0.0.1:26410", control: "tcp://127.0.0.1:26411", lingerMs: 0 });
    try {
      expect(await reachableFrom(26410)).toEqual(loopbackOnly);
    } finally {
      loopback.close();
      await loopback.done;
    }
    const named = await serveRawScan(scan, { frames: "tcp://0.0.0.0:26412", control: "tcp://127.0.0.1:26413", lingerMs: 0 });
    try {
      expect(await reachableFrom(26412)).toEqual(everywhere);
      expect(await reachableFrom(26413)).toEqual(loopbackOnly);
    } finally {
      named.close();
      await named.done;
    }
  });

  it("the publish sinks default to loopback, and no source file binds a wildcard address", () => {
    expect(PUBLISH_COSMIC_DEFAULTS.address).toBe("tcp://127.0.0.1:37013");
    expect(PUBLISH_REC_DEFAULTS.address).toBe("tcp://127.0.0.1:37016");
    const wildcard = /tcp:\/\/\*|0\.0\.0\.0|host:\s*["']::["']/;
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (/\.(ts|js)$/.test(entry.name)) {
          // Comments and help texts may show an explicit wildcard as an example ("e.g. tcp://0.0.0.0:37020"); code may not.
          const code = fs.readFileSync(file, "utf8").split("\n").filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line) && !line.includes("e.g."));
          code.filter((line) => wildcard.test(line)).forEach((line) => offenders.push(`${path.relative(ROOT, file)}: ${line.trim()}`));
        }
      }
    };
    walk(path.join(ROOT, "src"));
    walk(path.join(ROOT, "pipelines"));
    expect(offenders).toEqual([]);
    console.log(`bind defaults: frameserver tcp://127.0.0.1:37010-37012, publish ${PUBLISH_COSMIC_DEFAULTS.address} and ${PUBLISH_REC_DEFAULTS.address}, viewer http://127.0.0.1; no wildcard bind in src/ or pipelines/`);
  });
});
