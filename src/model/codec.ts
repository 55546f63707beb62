/**
 * io-ts plumbing shared by every codec: number refinements that keep plain `number` types (no brands, so
 * typed values are easy to build inside), a reporter that names the field, the expectation and what came,
 * and `decodeOrThrow` / `decodeEither` for the edges of the system.
 */
import * as t from "io-ts";
import { isLeft } from "fp-ts/Either";

function numberRefinement(name: string, accept: (n: number) => boolean): t.Type<number, number, unknown> {
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
 * One line per error: `path: expected <type>, got <value>`. For unions io-ts reports every branch; the path
 * drops the branch indices so the user sees field names only, and duplicate lines are removed.
 */
export function formatDecodeErrors(errors: t.Errors): string[] {
  const lines = errors.map((error) => {
    const keys = error.context
      .slice(1)
      .filter((entry, i, all) => {
        // Union and intersection members show up as numeric keys of the parent type: drop them.
        const parent = all[i - 1]?.type ?? error.context[0].type;
        return !(parent instanceof t.UnionType || parent instanceof t.IntersectionType);
      })
      .map((entry) => entry.key)
      .filter((key) => key !== "");
    const expected = error.context[error.context.length - 1]?.type.name ?? "valid value";
    const path = keys.length > 0 ? keys.join(".") : "(root)";
    return error.message ?? `${path}: expected ${expected}, got ${describeValue(error.value)}`;
  });
  return [...new Set(lines)];
}

export type Decoded<A> = { ok: true; value: A } | { ok: false; problems: string[] };

export function decodeEither<A, O>(codec: t.Type<A, O, unknown>, input: unknown): Decoded<A> {
  const result = codec.decode(input);
  return isLeft(result) ? { ok: false, problems: formatDecodeErrors(result.left) } : { ok: true, value: result.right };
}

export function decodeOrThrow<A, O>(codec: t.Type<A, O, unknown>, input: unknown, what = codec.name): A {
  const result = decodeEither(codec, input);
  if (!result.ok) throw new DecodeError(what, result.problems);
  return result.value;
}
