// fft.js ships no type declarations; this covers the part of its API the project uses.
declare module "fft.js" {
  class FFT {
    constructor(size: number);
    readonly size: number;
    createComplexArray(): number[];
    toComplexArray(input: ArrayLike<number>, storage?: number[]): number[];
    fromComplexArray(complex: ArrayLike<number>, storage?: number[]): number[];
    completeSpectrum(spectrum: number[]): void;
    transform(output: number[] | Float64Array, input: ArrayLike<number>): void;
    realTransform(output: number[] | Float64Array, input: ArrayLike<number>): void;
    inverseTransform(output: number[] | Float64Array, input: ArrayLike<number>): void;
  }
  export = FFT;
}
