/**
 * JSON as Python writes it: `json.dumps` emits bare `NaN`, `Infinity` and `-Infinity`, which `JSON.parse`
 * rejects. `parseLenientJson` accepts them (outside strings only); `stringifyStrictJson` refuses to write them.
 */

const NON_FINITE_MARK = "\u0000nonfinite:";

export function parseLenientJson(text: string): unknown {
  let rewritten = "";
  let inString = false;
  let i = 0;
  let changed = false;
  while (i < text.length) {
    const ch = text[i];
    if (inString) {
      rewritten += ch;
      if (ch === "\\") {
        rewritten += text[i + 1] ?? "";
        i += 2;
        continue;
      }
      if (ch === '"') inString = false;
      i += 1;
      continue;
    }
    if (ch === '"') {
      inString = true;
      rewritten += ch;
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
    if (token !== undefined) {
      rewritten += JSON.stringify(NON_FINITE_MARK + token);
      i += token.length;
      changed = true;
      continue;
    }
    rewritten += ch;
    i += 1;
  }
  if (!changed) return JSON.parse(text);
  return JSON.parse(rewritten, (_key, value) =>
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
