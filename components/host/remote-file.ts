import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { TOKENS } from "../tokens";
import { shellQuote } from "../render/format";
import { rootScript, sha256Hex, sshConnection, SshHostArgs } from "./host";

const PATH_RE = /^\/[A-Za-z0-9._@\-/]+$/;
const MODE_RE = /^0?[0-7]{3}$/;
const NAME_RE = /^[a-z_][a-z0-9_-]*$/;

export interface RemoteFileArgs {
    /** Target host. */
    host: SshHostArgs;
    /** Absolute path on the host. */
    path: string;
    /** Exact file content; sent on stdin, never on the command line. */
    content: pulumi.Input<string>;
    /** Owner. Default "root". */
    owner?: string;
    /** Group. Default "root". */
    group?: string;
    /** Octal mode. Default "0644"; secret files should use "0640" or "0600". */
    mode?: string;
    /** Content is secret: wrapped as a Pulumi secret, command logging off. Default false. */
    secret?: boolean;
    /** Remove the file on destroy. Default true (data files pass false or use retainOnDelete). */
    deleteOnDestroy?: boolean;
}

/**
 * A file on a host, written atomically with owner and mode. The content goes over stdin; the
 * command re-runs only when path, owner, mode or the content hash change, so an unchanged file is
 * never rewritten. The script also skips the write when the host already has the same bytes.
 */
export class RemoteFile extends pulumi.ComponentResource {
    /** sha256 of the content (a secret when the content is). */
    public readonly hash: pulumi.Output<string>;
    public readonly path: string;

    constructor(name: string, args: RemoteFileArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TOKENS.RemoteFile, name, {}, opts);
        const owner = args.owner ?? "root";
        const group = args.group ?? "root";
        const mode = args.mode ?? "0644";
        const secret = args.secret ?? false;
        const deleteOnDestroy = args.deleteOnDestroy ?? true;
        if (!PATH_RE.test(args.path) || args.path.includes("/../")) throw new pulumi.ResourceError(`RemoteFile path must be absolute and plain, got ${JSON.stringify(args.path)}`, this);
        if (!MODE_RE.test(mode)) throw new pulumi.ResourceError(`RemoteFile mode must be octal like 0640, got ${JSON.stringify(mode)}`, this);
        if (!NAME_RE.test(owner) || !NAME_RE.test(group)) throw new pulumi.ResourceError(`RemoteFile owner/group must be Unix names, got ${owner}:${group}`, this);
        this.path = args.path;

        const content = secret ? pulumi.secret(args.content) : pulumi.output(args.content);
        this.hash = content.apply(sha256Hex);
        const p = shellQuote(args.path);
        const create = rootScript(
            args.host,
            `
dir=$(dirname ${p})
mkdir -p "$dir"
tmp=$(mktemp "$dir/.matrix-maas.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
chown ${owner}:${group} "$tmp"
chmod ${mode} "$tmp"
if [ -f ${p} ] && cmp -s "$tmp" ${p} && [ "$(stat -c %U:%G:%a ${p})" = "$(stat -c %U:%G:%a "$tmp")" ]; then
  exit 0
fi
mv -f "$tmp" ${p}
trap - EXIT
`,
        );
        new remote.Command(
            `${name}-write`,
            {
                connection: sshConnection(args.host),
                create,
                delete: deleteOnDestroy ? rootScript(args.host, `rm -f ${p}`) : undefined,
                stdin: content,
                // Host label, path and metadata in clear (plan reads them); content only as a hash.
                triggers: ["file", args.host.name, args.path, `${owner}:${group}`, mode, this.hash],
                logging: secret ? "none" : "stderr",
            },
            // retainOnDelete is not inherited by children: pass it down explicitly.
            { parent: this, additionalSecretOutputs: secret ? ["stdin"] : undefined, retainOnDelete: opts?.retainOnDelete },
        );
        this.registerOutputs({ hash: this.hash });
    }
}
