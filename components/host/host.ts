/**
 * A Debian host reached over SSH. Knows nothing of Matrix.
 */
import * as pulumi from "@pulumi/pulumi";
import { types } from "@pulumi/command";
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { shellQuote } from "../render/format";

/** How to reach a host. */
export interface SshHostArgs {
    /** Label of the host in the stack config (`hosts.<name>`); names plan output folders. */
    name: string;
    /** IPv6 (normal) or IPv4 address. */
    address: pulumi.Input<string>;
    /** SSH port. Default 22. */
    port?: pulumi.Input<number>;
    /** SSH user: root, or a user with passwordless sudo. Default "root". */
    user?: string;
    /** OpenSSH private key. Wrapped as a Pulumi secret. */
    privateKey: pulumi.Input<string>;
    /** Expected host public key; pins the host when set. Default: not pinned. */
    hostKey?: pulumi.Input<string>;
}

/** The @pulumi/command connection for a host, private key as a secret. */
export function sshConnection(host: SshHostArgs): types.input.remote.ConnectionArgs {
    return {
        host: pulumi.output(host.address).apply((a) => {
            if (isIP(a) === 0) throw new Error(`host ${host.name}: address ${JSON.stringify(a)} is not an IP address`);
            return a;
        }),
        port: host.port ?? 22,
        user: host.user ?? "root",
        privateKey: pulumi.secret(host.privateKey),
        hostKey: host.hostKey,
        dialErrorLimit: 20,
        perDialTimeout: 15,
    };
}

/**
 * A host as components see it: validated connection arguments plus the @pulumi/command connection.
 * Components take `SshHostArgs` (plain data, usable from other languages); `Host` is a convenience.
 */
export class Host {
    public readonly connection: types.input.remote.ConnectionArgs;
    constructor(public readonly args: SshHostArgs) {
        if (!/^[a-z][a-z0-9-]{0,30}$/.test(args.name)) throw new Error(`Host name ${JSON.stringify(args.name)} must be lower-case letters, digits, '-'`);
        this.connection = sshConnection(args);
    }
    /** Wrap a script to run as root on this host. */
    script(body: string): string {
        return rootScript(this.args, body);
    }
}

/**
 * A remote script: strict bash, run as root (through `sudo -n` when the SSH user is not root).
 * The script text goes on the command line, so it must never contain a secret: secrets go on stdin.
 */
export function rootScript(host: SshHostArgs, script: string): string {
    const body = `set -euo pipefail\n${script.trim()}\n`;
    const user = host.user ?? "root";
    return user === "root" ? `bash -c ${shellQuote(body)}` : `sudo -n bash -c ${shellQuote(body)}`;
}

export function sha256Hex(s: string): string {
    return createHash("sha256").update(s, "utf8").digest("hex");
}
