/**
 * npm run plan -- --stack <name> --out <dir>
 *
 * Evaluates the program for Pulumi.<name>.yaml under the mock engine (no Pulumi CLI, no cloud
 * credentials) and writes every file each host would receive under <dir>/<host>/<absolute path>,
 * plus <dir>/resources.json (type, name, parent, non-secret inputs). Secrets appear as
 * <secret:NAME> placeholders. Same stack, same bytes. Invalid config: exit 1 with the key named.
 * `--project-dir <dir>` reads Pulumi.yaml and the stack file from another directory.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, SECRET_KEYS } from "../components/config/schema";
import { flattenStackConfig, installMockEngine, settle, unwrapSecrets } from "./lib/mock-engine";

function parseArgs(argv: string[]): { stack: string; out: string; projectDir?: string } {
    const get = (flag: string) => {
        const i = argv.indexOf(flag);
        return i >= 0 ? argv[i + 1] : undefined;
    };
    const stack = get("--stack");
    const out = get("--out");
    if (!stack || !out) {
        console.error("usage: npm run plan -- --stack <name> --out <dir>");
        process.exit(2);
    }
    return { stack, out, projectDir: get("--project-dir") };
}

/** Project-level defaults from Pulumi.yaml merged under the stack's own values. */
export function readStackConfig(root: string, stack: string): Record<string, unknown> {
    const project = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(stackFile)) throw new Error(`no stack file ${stackFile}`);
    const stackDoc = YAML.parse(fs.readFileSync(stackFile, "utf8")) ?? {};
    const merged: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries<any>(project.config ?? {})) {
        if (decl && typeof decl === "object" && "default" in decl) merged[key.includes(":") ? key : `${project.name}:${key}`] = decl.default;
    }
    return { ...merged, ...(stackDoc.config ?? {}) };
}

async function main(): Promise<void> {
    const { stack, out, projectDir } = parseArgs(process.argv.slice(2));
    const root = path.resolve(projectDir ?? path.join(__dirname, ".."));
    const engine = await installMockEngine("matrix-maas", stack, false);
    const { raw, secretKeys } = flattenStackConfig(readStackConfig(root, stack));
    // Secrets are set per stack with the CLI and never committed: the plan stands in placeholders.
    for (const key of Object.keys(SECRET_KEYS)) {
        const full = `${CONFIG_NAMESPACE}:${key}`;
        if (!(full in raw)) {
            raw[full] = `<secret:${key}>`;
            secretKeys.push(full);
        }
    }
    for (const v of Object.values(raw)) if (v.startsWith("<secret:")) engine.secretValues.set(v, v.slice(8, -1));
    pulumi.runtime.setAllConfig(raw, secretKeys);

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runProgram } = require("../components/program") as typeof import("../components/program");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ConfigError } = require("../components/config") as typeof import("../components/config");
    try {
        runProgram();
    } catch (e) {
        if (e instanceof ConfigError) {
            console.error(e.message);
            process.exit(1);
        }
        throw e;
    }
    await settle();

    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });
    const files: { host: string; path: string; owner: string; mode: string }[] = [];
    for (const r of engine.ofType("command:remote:Command")) {
        const t = r.inputs.triggers;
        if (!Array.isArray(t) || t[0] !== "file") continue;
        const [, host, filePath, owner, mode] = t as string[];
        const dest = path.join(out, host, filePath);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, engine.redact(String(r.inputs.stdin ?? "")));
        files.push({ host, path: filePath, owner, mode });
    }
    const resources = [...engine.registrations]
        .sort((a, b) => (a.type + "\0" + a.name).localeCompare(b.type + "\0" + b.name))
        .map((r) => {
            // Non-secret inputs only: secret-wrapped values become "<secret>"; file contents are in the tree.
            const { stdin: _stdin, ...inputs } = unwrapSecrets(r.wrappedInputs, () => "<secret>");
            return { type: r.type, name: r.name, parent: r.parent ?? null, retainOnDelete: r.retainOnDelete, inputs: JSON.parse(engine.redact(JSON.stringify(inputs))) };
        });
    fs.writeFileSync(path.join(out, "resources.json"), JSON.stringify({ stack, files: files.sort((a, b) => (a.host + a.path).localeCompare(b.host + b.path)), resources }, null, 2) + "\n");
    console.log(`plan for stack ${stack}: ${files.length} files, ${resources.length} resources -> ${out}`);
    process.exit(0);
}

main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
});
