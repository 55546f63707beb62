/**
 * io-ts plumbing shared by every codec: number refinements that keep plain `number` types (no brands, so
 * typed values are easy to build inside), a reporter that names the field, the expectation and what came,
 * and `decodeOrThrow` / `decodeEither` for the edges of the system.
 */
import * as t from "io-ts";
import { isLeft } from "fp-ts/Either";

export function numberRefinement(name: string, accept: (n: number) => boolean): t.Type<number, number, unknown> {
  return new t.Type<number, number, unknown>(
    name,
    (u): u is number => typeof u === "number" && accept(u),
    (u, c) => (typeof u === "number" && accept(u) ? t.success(u) : t.failure(u, c)),
    t.identity,
  );
}

export const FiniteNumber = numberRefinement("finite number", Number.isFinite);
export const PositiveNumber = numberRefinement("positive number", (n) => Number.isFinite(n) && n > 0);
export const NonNegativeNumber = numberRefinement("non-negative number", (n) => Number.isFinite(n) && n >= 0);
export const Integer = numberRefinement("integer", Number.isInteger);
export const NonNegativeInteger = numberRefinement("non-negative integer", (n) => Number.isInteger(n) && n >= 0);
export const PositiveInteger = numberRefinement("positive integer", (n) => Number.isInteger(n) && n > 0);

/** A fixed-length tuple of numbers, e.g. a shape `[rows, cols]`. */
export const Pair = <C extends t.Mixed>(codec: C) => t.tuple([codec, codec]);

/** Thrown by `decodeOrThrow`; `problems` holds one readable line per failing field. */
export class DecodeError extends Error {
  constructor(
    readonly what: string,
    readonly problems: string[],
  ) {
    super(`invalid ${what}:\n  ${problems.join("\n  ")}`);
    this.name = "DecodeError";
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * One line per failing field: `path: expected <type>, got <value>`. Union branches that fail at the same path
 * are merged (`expected boolean or number`), and the numeric keys io-ts uses for union and intersection
 * members are dropped, so the user sees field names only.
 */
export function formatDecodeErrors(errors: t.Errors): string[] {
  const byPath = new Map<string, { expected: string[]; value: unknown }>();
  const custom: string[] = [];
  for (const error of errors) {
    if (error.message !== undefined) {
      custom.push(error.message);
      continue;
    }
    const keys = error.context
      .slice(1)
      .filter((entry, i, all) => {
        // io-ts puts union and intersection members in the path as numeric keys; only arrays, tuples and
        // records have numeric keys a user would recognise, so drop the others.
        const parent = i === 0 ? error.context[0].type : all[i - 1].type;
        return !/^\d+$/.test(entry.key) || isIndexed(parent);
      })
      .map((entry) => entry.key)
      .filter((key) => key !== "");
    const path = keys.length > 0 ? keys.join(".") : "(root)";
    const expected = error.context[error.context.length - 1]?.type.name ?? "valid value";
    const entry = byPath.get(path) ?? { expected: [], value: error.value };
    if (!entry.expected.includes(expected)) entry.expected.push(expected);
    byPath.set(path, entry);
  }
  const lines = [...byPath].map(([path, { expected, value }]) => `${path}: expected ${expected.join(" or ")}, got ${describeValue(value)}`);
  return [...new Set([...custom, ...lines])];
}

function isIndexed(type: t.Decoder<unknown, unknown>): boolean {
  return (
    type instanceof t.ArrayType ||
    type instanceof t.TupleType ||
    type instanceof t.ReadonlyArrayType ||
    type instanceof t.DictionaryType
  );
}

export type Decoded<A> = { ok: true; value: A } | { ok: false; problems: string[] };

export function decodeEither<A>(codec: t.Decoder<unknown, A>, input: unknown): Decoded<A> {
  const result = codec.decode(input);
  return isLeft(result) ? { ok: false, problems: formatDecodeErrors(result.left) } : { ok: true, value: result.right };
}

export function decodeOrThrow<A>(codec: t.Decoder<unknown, A>, input: unknown, what = codec.name): A {
  const result = decodeEither(codec, input);
  if (!result.ok) throw new DecodeError(what, result.problems);
  return result.value;
}
