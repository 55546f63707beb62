/**
 * The viewer page in a real headless Chromium (Debian's `chromium`, driven by playwright-core) while a simulated
 * run feeds the viewer (test/viewer/drive-viewer.ts, its own process): the pictures change, the counters
 * advance, the error curve gains points, the positions fill in, the export links give PNGs; a screenshot is saved
 * (to a temp dir, and to $VIEWER_SCREENSHOT if set, e.g. docs/viewer.png).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PNG } from "pngjs";
import { Browser, Page, chromium } from "playwright-core";
import { Child, runScript } from "./child";
import { RUN_SIM } from "./simulated-run";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];
const PORT = 24010;
const PANELS = ["raw", "processed", "amplitude", "phase", "probe"] as const;

const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) {
  process.stderr.write(`test/viewer/page.test.ts SKIPPED: ${CHROMIUM} is missing (apt-get install -y chromium); the page is not tested.\n`);
}
const describeWithChromium = haveChromium ? describe : describe.skip;

/** What window.viewerFigures() (src/viewer/page/viewer.js) reports. */
interface PageFigures {
  connection: string;
  scanId: string;
  updates: Record<(typeof PANELS)[number], number>;
  pictures: Record<(typeof PANELS)[number], string>;
  counts: Record<string, number>;
  errorPoints: number;
  visited: number;
  stages: string[];
}

const figures = (page: Page): Promise<PageFigures> => page.evaluate("viewerFigures()");

describeWithChromium("live viewer page in headless Chromium", () => {
  let browser: Browser;
  let driver: Child;
  let run: { url: string; scanId: string };
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "viewer-page-"));

  beforeAll(async () => {
    driver = runScript("test/viewer/drive-viewer.ts", [String(PORT)]);
    // playwright's launch gives the browser a fresh temporary profile (user-data-dir) of its own.
    [browser, run] = await Promise.all([chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS }), driver.firstLine.then((line) => JSON.parse(line))]);
  });

  afterAll(async () => {
    await browser?.close();
    expect(await driver?.stop()).toBe(0);
  });

  it("shows frames, reconstruction, positions, error curve and health updating live, and exports PNGs", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1150 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(run.url);
    await page.waitForFunction(`(() => { const f = viewerFigures(); return f.connection === "open" && Object.values(f.updates).every((n) => n > 0) && f.errorPoints >= 2 && f.counts.received > 0; })()`);
    const first = await figures(page);
    await page.waitForFunction(`(() => { const u = viewerFigures().updates; const before = ${JSON.stringify(first.updates)}; return Object.keys(before).every((p) => u[p] >= before[p] + 3); })()`);
    const second = await figures(page);

    for (const panel of PANELS) expect(second.pictures[panel]).not.toEqual(first.pictures[panel]);
    expect(second.counts.received).toBeGreaterThan(first.counts.received);
    expect(second.counts.processed).toBeGreaterThan(first.counts.processed);
    expect(second.counts.skipped).toBeGreaterThanOrEqual(first.counts.skipped);
    expect(second.counts["bad:gap"]).toBeGreaterThan(0);
    expect(second.errorPoints).toBeGreaterThan(first.errorPoints);
    expect(second.visited).toBeGreaterThan(first.visited);
    expect(second.stages).toEqual(expect.arrayContaining(["grab", "preprocess", "chunk", "reconstruct"]));
    expect(second.scanId).toBe(run.scanId);

    // The export links on the page give PNGs of the current reconstruction and frames.
    const exported = async (id: string) => {
      const href = await page.getAttribute(`#${id}`, "href");
      const response = await page.request.get(new URL(href as string, run.url).toString());
      expect(response.status()).toBe(200);
      return PNG.sync.read(await response.body());
    };
    const reconstruction = await exported("export-reconstruction");
    expect(reconstruction.width).toBeGreaterThan(2 * RUN_SIM.frameSize);
    expect(reconstruction.height).toBeGreaterThan(RUN_SIM.frameSize);
    expect((await exported("export-frame")).width).toBe(RUN_SIM.frameSize);
    expect((await exported("export-raw")).width).toBe(960);

    const shot = path.join(outDir, "viewer.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    if (process.env.VIEWER_SCREENSHOT) fs.copyFileSync(shot, process.env.VIEWER_SCREENSHOT);
    expect(pageErrors).toEqual([]);
  });
});
