import { objectPixelSizeM, objectShapeFor, viewTopLeft, viewsTopLeft, wavelengthM } from "../../src/numerics/geometry";

describe("geometry", () => {
  it("wavelength = h c / E", () => {
    // 1239.84198 eV nm / 800 eV = 1.5498025 nm; 12.4 keV is the textbook 1.0 Angstrom.
    expect(wavelengthM(800)).toBeCloseTo(1.5498025e-9, 15);
    expect(wavelengthM(12398.42)).toBeCloseTo(1e-10, 15);
    expect(() => wavelengthM(0)).toThrow(/positive/);
  });

  it("object pixel = wavelength x distance / (N x detector pixel)", () => {
    // COSMIC-like: 800 eV, 0.121 m, 30 um pixels binned by 4 -> 120 um, 128 frames: 1.5498e-9 * 0.121 / 0.01536.
    expect(objectPixelSizeM(800, 0.121, 128, 120e-6)).toBeCloseTo(1.22088e-8, 12);
    // Halving the frame size doubles the pixel.
    expect(objectPixelSizeM(800, 0.121, 64, 120e-6)).toBeCloseTo(2 * 1.22088e-8, 12);
  });

  it("maps a position to the top-left of its view, the probe centre on the object centre at the origin", () => {
    const pixel = 10e-9;
    expect(viewTopLeft({ x: 0, y: 0 }, 200, 300, pixel, 64)).toEqual([68, 118]);
    // y moves rows, x moves columns; 25 nm rounds to 3 pixels (2.5 -> 3), -14 nm to -1.
    expect(viewTopLeft({ x: 25e-9, y: -14e-9 }, 200, 300, pixel, 64)).toEqual([67, 121]);
  });

  it("sizes the object from the scan extent and rejects views outside it", () => {
    const pixel = 10e-9;
    const positions = [{ x: -300e-9, y: 100e-9 }, { x: 200e-9, y: -50e-9 }];
    const [rows, cols] = objectShapeFor(positions, pixel, 64, 4);
    expect([rows, cols]).toEqual([64 + 2 * (10 + 4), 64 + 2 * (30 + 4)]);
    const views = viewsTopLeft(positions, rows, cols, pixel, 64);
    expect(Array.from(views)).toEqual([14 + 10, 34 - 30, 14 - 5, 34 + 20]);
    expect(() => viewsTopLeft([{ x: 1e-6, y: 0 }], rows, cols, pixel, 64)).toThrow(/outside/);
  });
});
