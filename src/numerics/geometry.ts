/**
 * Far-field ptychography geometry: wavelength from photon energy, the object (reconstruction) pixel size, and
 * where each probe position falls on the object grid. SI units throughout.
 *
 * Position convention (shared by the simulator and the engines): a position is the probe centre relative to
 * the object-array centre, x along columns, y along rows. The N x N view of a position starts at
 * `round(rows/2 + y/pixel - N/2)`, `round(cols/2 + x/pixel - N/2)`, so a position at the origin puts the view
 * centre (N/2, N/2) on the object centre (rows/2, cols/2).
 */
import { PositionM } from "../model/frameserver";

/** Planck constant x speed of light, in eV m (CODATA 2018, exact). */
export const PLANCK_C_EV_M = 1.239841984e-6;

export function wavelengthM(energyEv: number): number {
  if (!(energyEv > 0)) throw new Error(`photon energy must be positive, got ${energyEv} eV`);
  return PLANCK_C_EV_M / energyEv;
}

/**
 * Object pixel size = wavelength x distance / (N x detector pixel), where `pixelSizeM` is the effective
 * detector pixel after crop/bin/resample and N the frame size the engines use.
 */
export function objectPixelSizeM(energyEv: number, distanceM: number, frameSize: number, pixelSizeM: number): number {
  if (!(distanceM > 0) || !(pixelSizeM > 0) || !(frameSize > 0)) {
    throw new Error(`geometry needs positive distance, pixel size and frame size (got ${distanceM} m, ${pixelSizeM} m, ${frameSize})`);
  }
  return (wavelengthM(energyEv) * distanceM) / (frameSize * pixelSizeM);
}

/** Top-left (row, col) of the N x N view of `positionM` on a `objectRows x objectCols` object grid. */
export function viewTopLeft(
  positionM: PositionM,
  objectRows: number,
  objectCols: number,
  objectPixelSizeM: number,
  frameSize: number,
): [number, number] {
  return [
    Math.round(objectRows / 2 + positionM.y / objectPixelSizeM - frameSize / 2),
    Math.round(objectCols / 2 + positionM.x / objectPixelSizeM - frameSize / 2),
  ];
}

/**
 * The smallest object grid (even sizes) holding every view of `positionsM` with `marginPx` to spare on each side;
 * the streaming engine sizes its object from the scan extent announced in `start`.
 */
export function objectShapeFor(positionsM: readonly PositionM[], objectPixelSizeM: number, frameSize: number, marginPx = 0): [number, number] {
  let extentY = 0;
  let extentX = 0;
  for (const p of positionsM) {
    extentY = Math.max(extentY, Math.abs(Math.round(p.y / objectPixelSizeM)));
    extentX = Math.max(extentX, Math.abs(Math.round(p.x / objectPixelSizeM)));
  }
  return [frameSize + 2 * (extentY + marginPx), frameSize + 2 * (extentX + marginPx)];
}

/** Every view's top-left as a (count, 2) (row, col) array, checked to lie inside the object. */
export function viewsTopLeft(
  positionsM: readonly PositionM[],
  objectRows: number,
  objectCols: number,
  objectPixelSizeM: number,
  frameSize: number,
): Int32Array {
  const out = new Int32Array(2 * positionsM.length);
  positionsM.forEach((p, i) => {
    const [row, col] = viewTopLeft(p, objectRows, objectCols, objectPixelSizeM, frameSize);
    if (row < 0 || col < 0 || row + frameSize > objectRows || col + frameSize > objectCols) {
      throw new Error(
        `position ${i} (x ${p.x} m, y ${p.y} m) puts its ${frameSize}x${frameSize} view at (${row}, ${col}), outside the ${objectRows}x${objectCols} object`,
      );
    }
    out[2 * i] = row;
    out[2 * i + 1] = col;
  });
  return out;
}
