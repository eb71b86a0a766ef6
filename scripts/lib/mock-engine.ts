/**
 * An in-process stand-in for the Pulumi engine (pulumi.runtime.setMocks), shared by the unit tests
 * and the plan CLI. It records every registration, answers with deterministic state, knows every
 * secret value it generated, and throws on any invoke it does not know.
 *
 * Must be installed (await installMockEngine) before the code under test is imported.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";

/** The signature Pulumi's RPC layer uses to mark a secret value. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export function isSecretWrapper(v: unknown): v is { value: unknown } {
    return v !== null && typeof v === "object" && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Remove secret wrappers (or replace them by `replacement` when given). */
export function unwrapSecrets(v: unknown, replacement?: (inner: unknown) => unknown): any {
    if (isSecretWrapper(v)) return replacement ? replacement(v.value) : unwrapSecrets(v.value);
    if (Array.isArray(v)) return v.map((x) => unwrapSecrets(x, replacement));
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x, replacement)]));
    return v;
}

/** Every string outside a secret wrapper, with its property path. */
export function plainStrings(v: unknown, path = ""): { path: string; value: string }[] {
    if (isSecretWrapper(v)) return [];
    if (typeof v === "string") return [{ path, value: v }];
    if (Array.isArray(v)) return v.flatMap((x, i) => plainStrings(x, `${path}[${i}]`));
    if (v !== null && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => plainStrings(x, path ? `${path}.${k}` : k));
    return [];
}

export interface Registration {
    type: string;
    name: string;
    /** Inputs with secrets unwrapped. */
    inputs: Record<string, any>;
    /** Inputs as the engine received them: secrets still wrapped. */
    wrappedInputs: Record<string, any>;
    custom: boolean;
    provider?: string;
    /** URN of the parent resource ("" for none). */
    parentUrn: string;
    /** Name of the parent resource (last URN segment). */
    parent?: string;
    retainOnDelete: boolean;
    protect: boolean;
    dependencies: string[];
    additionalSecretOutputs: string[];
}

interface RequestOptions {
    parentUrn: string;
    retainOnDelete: boolean;
    protect: boolean;
    dependencies: string[];
    additionalSecretOutputs: string[];
}

export class MockEngine implements pulumi.runtime.Mocks {
    readonly registrations: Registration[] = [];
    /** Generated secret value -> placeholder label. */
    readonly secretValues = new Map<string, string>();
    /** Options of registerResource requests, by type + name (filled by the monitor hook). */
    readonly requestOptions = new Map<string, RequestOptions>();

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
        const inputs = unwrapSecrets(args.inputs);
        const o = this.requestOptions.get(`${args.type}::${args.name}`) ?? { parentUrn: "", retainOnDelete: false, protect: false, dependencies: [], additionalSecretOutputs: [] };
        this.registrations.push({
            type: args.type,
            name: args.name,
            inputs,
            wrappedInputs: args.inputs,
            custom: args.custom ?? false,
            provider: args.provider,
            ...o,
            parent: o.parentUrn ? o.parentUrn.split("::").pop() : undefined,
        });
        const state: Record<string, any> = { ...inputs };
        switch (args.type) {
            case "random:index/randomPassword:RandomPassword": {
                const value = `<secret:${args.name}>`;
                this.secretValues.set(value, args.name);
                state.result = value;
                state.bcryptHash = `<secret:${args.name}-bcrypt>`;
                break;
            }
            case "random:index/randomString:RandomString": {
                // Deterministic alphanumerics of the requested length.
                const length = Number(inputs.length ?? 8);
                const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
                const digest = createHash("sha256").update(args.name).digest();
                state.result = Array.from({ length }, (_, i) => alphabet[digest[i % digest.length] % alphabet.length]).join("");
                break;
            }
            case "tls:index/selfSignedCert:SelfSignedCert":
                state.certPem = `-----BEGIN CERTIFICATE-----\nmock-self-signed-${args.name}\n-----END CERTIFICATE-----\n`;
                break;
            case "tls:index/privateKey:PrivateKey": {
                const seed = createHash("sha256").update(`mock-key:${args.name}`).digest();
                const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
                const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
                const pem = key.export({ format: "pem", type: "pkcs8" }).toString();
                state.privateKeyPemPkcs8 = pem;
                state.privateKeyPem = pem;
                state.privateKeyOpenssh = `<secret:${args.name}-openssh>`;
                state.publicKeyPem = createPublicKey(key).export({ format: "pem", type: "spki" }).toString();
                this.secretValues.set(pem, `${args.name}-pem`);
                this.secretValues.set(seed.toString("base64").replace(/=+$/, ""), `${args.name}-seed`);
                break;
            }
        }
        return { id: args.custom ? `${args.name}-id` : undefined, state };
    }

    /** Invokes this engine answers (token -> count), for assertions. */
    readonly invokes: { token: string; inputs: Record<string, any> }[] = [];

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        this.invokes.push({ token: args.token, inputs: args.inputs });
        if (args.token === "cloudflare:index/getZone:getZone") {
            const zoneName = String(args.inputs.filter?.name ?? "");
            return { id: createHash("md5").update(zoneName).digest("hex"), name: zoneName };
        }
        throw new Error(`mock engine: unexpected invoke ${args.token} (add it to scripts/lib/mock-engine.ts if it is meant to be called)`);
    }

    /** Registrations of one type. */
    ofType(type: string): Registration[] {
        return this.registrations.filter((r) => r.type === type);
    }

    /** Replace every known secret value in a string by its placeholder. */
    redact(text: string): string {
        let out = text;
        for (const [value, label] of this.secretValues) out = out.split(value).join(`<secret:${label}>`);
        return out;
    }
}

/** Install the mocks; returns the engine that records registrations. */
export async function installMockEngine(project = "matrix-maas", stack = "test", preview = false): Promise<MockEngine> {
    const engine = new MockEngine();
    await pulumi.runtime.setMocks(engine, project, stack, preview);
    // The Mocks interface does not see resource options: hook the mock monitor to record them.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const monitor = require("@pulumi/pulumi/runtime/settings").getMonitor();
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        engine.requestOptions.set(`${req.getType()}::${req.getName()}`, {
            parentUrn: req.getParent(),
            retainOnDelete: req.getRetainondelete() ?? false,
            protect: req.getProtect() ?? false,
            dependencies: req.getDependenciesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        });
        return original(req, callback);
    };
    return engine;
}

/** Wait until every outstanding registration and output resolution has finished. */
export async function settle(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings");
    for (let i = 0; i < 5; i++) {
        await settings.waitForRPCs();
        await new Promise((r) => setImmediate(r));
    }
}

/** Resolve an Output's value and secretness (mocks run applies in both modes). */
export async function resolve<T>(o: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
    const value = await new Promise<T>((res) => o.apply((v) => { res(v); return v; }));
    return { value, secret: await pulumi.isSecret(o) };
}

/** Flatten a stack file's `config:` into Pulumi's raw form ("ns:key" -> string); secure values -> placeholder. */
export function flattenStackConfig(config: Record<string, unknown>): { raw: Record<string, string>; secretKeys: string[] } {
    const raw: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(config ?? {})) {
        if (value && typeof value === "object" && !Array.isArray(value) && "secure" in (value as object)) {
            raw[key] = `<secret:${key.split(":").pop()}>`;
            secretKeys.push(key);
        } else if (typeof value === "object" && value !== null) {
            raw[key] = JSON.stringify(value);
        } else {
            raw[key] = String(value);
        }
    }
    return { raw, secretKeys };
}
