/**
 * JSON as Python writes it: `json.dumps` emits bare `NaN`, `Infinity` and `-Infinity`, which `JSON.parse`
 * rejects. `parseLenientJson` accepts them (outside strings only); `stringifyStrictJson` refuses to write them.
 */

const NON_FINITE_MARK = "\u0000nonfinite:";

const NON_FINITE_TOKEN = /NaN|Infinity/;

export function parseLenientJson(text: string): unknown {
  // Most messages carry no non-finite number: those are parsed as they are, with no rewriting (a frame header per
  // frame; a start with 80 000 positions took 220 ms and 90 MB when rewritten character by character).
  if (!NON_FINITE_TOKEN.test(text)) return JSON.parse(text);
  const parts: string[] = [];
  let copiedUpTo = 0;
  let inString = false;
  let changed = false;
  for (let i = 0; i < text.length; ) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i += 2;
      else {
        if (ch === '"') inString = false;
        i += 1;
      }
      continue;
    }
    if (ch === '"') {
      inString = true;
      i += 1;
      continue;
    }
    const token = text.startsWith("NaN", i)
      ? "NaN"
      : text.startsWith("-Infinity", i)
        ? "-Infinity"
        : text.startsWith("Infinity", i)
          ? "Infinity"
          : undefined;
    if (token === undefined) {
      i += 1;
      continue;
    }
    parts.push(text.slice(copiedUpTo, i), JSON.stringify(NON_FINITE_MARK + token));
    i += token.length;
    copiedUpTo = i;
    changed = true;
  }
  if (!changed) return JSON.parse(text);
  parts.push(text.slice(copiedUpTo));
  return JSON.parse(parts.join(""), (_key, value) =>
    typeof value === "string" && value.startsWith(NON_FINITE_MARK) ? Number(value.slice(NON_FINITE_MARK.length)) : value,
  );
}

/** `JSON.stringify` silently turns NaN into null; a wire message must never carry either by accident. */
export function stringifyStrictJson(value: unknown): string {
  return JSON.stringify(value, (key, v) => {
    if (typeof v === "number" && !Number.isFinite(v)) {
      throw new Error(`cannot write non-finite number ${v} at key "${key}" as JSON`);
    }
    return v;
  });
}
