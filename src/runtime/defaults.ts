/**
 * `{ ...defaults, ...options }` lets an explicit `undefined` (an option a caller passes through unset) wipe out a
 * default. `withDefaults` takes only the options that are set.
 */
export type WithDefaults<D, O> = {
  [K in keyof D | keyof O]: K extends keyof O ? (K extends keyof D ? Exclude<O[K], undefined> | D[K] : O[K]) : K extends keyof D ? D[K] : never;
};

export function withDefaults<D extends object, O extends object>(defaults: D, options: O): WithDefaults<D, O> {
  const set = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  return { ...defaults, ...set } as WithDefaults<D, O>;
}
