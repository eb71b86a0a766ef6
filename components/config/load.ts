/**
 * Turns raw stack config (as `pulumi.runtime.allConfig()` returns it: `"matrix-maas:key" -> string`)
 * into a validated `StackConfig`. Errors name the full config key and say what would be valid.
 * No Pulumi import here: the program, the plan CLI and the tests share this loader.
 */
import { z } from "zod";
import { CONFIG_NAMESPACE, SECRET_KEYS, SecretKey, StackConfig, stackConfigSchema } from "./schema";
import { requiredOperationSecrets } from "./operations";

export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(`invalid stack config:\n  ${problems.join("\n  ")}`);
        this.name = "ConfigError";
    }
}

/** Full config key for a zod issue path, e.g. `matrix-maas:synapse.media.maxUploadSize`. */
export function configKey(path: ReadonlyArray<PropertyKey>): string {
    let key = CONFIG_NAMESPACE + ":";
    path.forEach((p, i) => {
        if (typeof p === "number") key += `[${p}]`;
        else key += (i === 0 ? "" : ".") + String(p);
    });
    return key;
}

function describeIssue(issue: z.core.$ZodIssue): string {
    if (issue.code === "unrecognized_keys") {
        return issue.keys.map((k) => `${configKey([...issue.path, k])} is not a known setting (check the spelling; see README)`).join("\n  ");
    }
    if (issue.code === "invalid_key") {
        return `${configKey(issue.path)} is not a valid name: ${issue.issues.map((i) => i.message).join("; ")}`;
    }
    if (issue.code === "invalid_type" && issue.input === undefined) {
        return `${configKey(issue.path)} is required (${issue.expected})`;
    }
    return `${configKey(issue.path)} ${issue.message}`;
}

/** Decode one raw Pulumi config value: objects/arrays arrive JSON-encoded, scalars as strings. */
function decodeValue(value: string): unknown {
    const t = value.trim();
    if (t.startsWith("{") || t.startsWith("[")) {
        try {
            return JSON.parse(t);
        } catch {
            return value;
        }
    }
    return value;
}

export interface LoadedConfig {
    config: StackConfig;
    /** Which secret keys are set (their values never pass through here). */
    secretKeysSet: SecretKey[];
}

/**
 * Validate a namespace's raw config. `raw` may hold keys of other namespaces; they are ignored.
 * Secret keys are only checked for presence; their values stay with the caller.
 */
export function loadStackConfig(raw: Record<string, string>): LoadedConfig {
    const values: Record<string, unknown> = {};
    const secretKeysSet: SecretKey[] = [];
    for (const [fullKey, value] of Object.entries(raw)) {
        const [ns, ...rest] = fullKey.split(":");
        if (ns !== CONFIG_NAMESPACE) continue;
        const key = rest.join(":");
        if (key in SECRET_KEYS) {
            if (value !== undefined && value !== "") secretKeysSet.push(key as SecretKey);
            continue;
        }
        values[key] = decodeValue(value);
    }
    return { config: parseStackConfig(values, secretKeysSet), secretKeysSet };
}

/** Validate already-decoded values; throws ConfigError naming every bad key. */
export function parseStackConfig(values: Record<string, unknown>, secretKeysSet: ReadonlyArray<SecretKey> = ["sshPrivateKey", "postgresAdminPassword"]): StackConfig {
    const result = stackConfigSchema.safeParse(values);
    const problems: string[] = [];
    if (!result.success) {
        for (const issue of result.error.issues) problems.push(describeIssue(issue));
    }
    for (const required of ["sshPrivateKey", "postgresAdminPassword"] as const) {
        if (!secretKeysSet.includes(required)) {
            problems.push(`${CONFIG_NAMESPACE}:${required} is required: set it with \`pulumi config set --secret ${required} ...\``);
        }
    }
    if (result.success && result.data.email.smtpUser && !secretKeysSet.includes("smtpPassword")) {
        problems.push(`${CONFIG_NAMESPACE}:smtpPassword is required when email.smtpUser is set (pulumi config set --secret smtpPassword ...)`);
    }
    if (result.success) {
        for (const { key, why } of requiredOperationSecrets(result.data)) {
            if (!secretKeysSet.includes(key as SecretKey)) problems.push(`${CONFIG_NAMESPACE}:${key} is required ${why} (pulumi config set --secret ${key} ...)`);
        }
    }
    if (result.success && result.data.proxy.tls === "provided" && !secretKeysSet.includes("tlsPrivateKey")) {
        problems.push(`${CONFIG_NAMESPACE}:tlsPrivateKey is required with proxy.tls: provided (pulumi config set --secret tlsPrivateKey < key.pem)`);
    }
    if (problems.length > 0 || !result.success) throw new ConfigError(problems);
    return result.data;
}
