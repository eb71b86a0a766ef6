/** Serializers shared by every renderer: deterministic bytes for the same input. */
import YAML from "yaml";

export const MANAGED_HEADER = "Managed by matrix-maas. Local changes are overwritten on the next `pulumi up`.";

/** YAML with sorted map keys (order of sequences is kept) and a managed-file header comment. */
export function toYaml(value: unknown, header: string = MANAGED_HEADER): string {
    const doc = new YAML.Document(value, { sortMapEntries: true });
    doc.commentBefore = ` ${header}`;
    return doc.toString({ lineWidth: 0 });
}

/** JSON with recursively sorted object keys, two-space indent and a trailing newline. */
export function toJson(value: unknown): string {
    return JSON.stringify(sortKeys(value), null, 2) + "\n";
}

export function sortKeys(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value !== null && typeof value === "object") {
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(value as Record<string, unknown>).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
        return out;
    }
    return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Deep merge: objects merge key by key, anything else (arrays, scalars, null) in `over` replaces. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
        out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
    }
    return out;
}

/** Quote a string for a POSIX shell (single quotes). */
export function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}
