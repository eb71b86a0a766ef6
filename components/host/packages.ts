import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { TOKENS } from "../tokens";
import { shellQuote } from "../render/format";
import { rootScript, sshConnection, SshHostArgs } from "./host";

const PKG_RE = /^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$/;
const REPO_NAME_RE = /^[a-z0-9][a-z0-9-]*$/;

/** An extra apt repository, trusted only through its own keyring (signed-by). */
export interface AptRepository {
    /** File stem for the .list and the keyring, e.g. "matrix-org". */
    name: string;
    /** Repository URL, e.g. "https://packages.matrix.org/debian/". */
    uri: string;
    /** Suite; default: the host's codename (from /etc/os-release). */
    suite?: string;
    /** Components. Default ["main"]. */
    components?: string[];
    /** URL of the binary (dearmored) keyring. */
    keyringUrl: string;
    /** sha256 of the keyring file; the install fails when it differs. Default: not checked. */
    keyringSha256?: string;
}

export interface PackagesArgs {
    /** Target host. */
    host: SshHostArgs;
    /** Debian packages, optionally pinned with `=version`. */
    packages: string[];
    /** Extra repositories. Default []. */
    repositories?: AptRepository[];
    /** debconf selections (`pkg question type value` lines), set before installing. Default []. */
    debconf?: string[];
}

/** Installs Debian packages (idempotent: apt skips what is installed; config files kept). */
export class Packages extends pulumi.ComponentResource {
    constructor(name: string, args: PackagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TOKENS.Packages, name, {}, opts);
        const repos = args.repositories ?? [];
        for (const p of args.packages) {
            if (!PKG_RE.test(p)) throw new pulumi.ResourceError(`Packages: ${JSON.stringify(p)} is not a Debian package name`, this);
        }
        if (args.packages.length === 0) throw new pulumi.ResourceError("Packages: the package list is empty", this);
        const repoLines = repos.map((r) => {
            if (!REPO_NAME_RE.test(r.name)) throw new pulumi.ResourceError(`Packages: repository name ${JSON.stringify(r.name)} must be lower-case letters, digits, '-'`, this);
            if (!/^https:\/\//.test(r.uri) || !/^https:\/\//.test(r.keyringUrl)) throw new pulumi.ResourceError(`Packages: repository ${r.name} must use https URLs`, this);
            const keyring = `/etc/apt/keyrings/${r.name}.gpg`;
            const suite = r.suite ? shellQuote(r.suite) : `"$(. /etc/os-release && echo "$VERSION_CODENAME")"`;
            const comps = (r.components ?? ["main"]).join(" ");
            const check = r.keyringSha256 ? `echo ${shellQuote(`${r.keyringSha256}  ${keyring}.new`)} | sha256sum -c --quiet -` : "";
            return `
curl -fsSL --proto =https ${shellQuote(r.keyringUrl)} -o ${keyring}.new
${check}
mv -f ${keyring}.new ${keyring}
echo "deb [signed-by=${keyring}] ${r.uri} "${suite}" ${comps}" > /etc/apt/sources.list.d/${r.name}.list.new
if ! cmp -s /etc/apt/sources.list.d/${r.name}.list.new /etc/apt/sources.list.d/${r.name}.list; then
  mv -f /etc/apt/sources.list.d/${r.name}.list.new /etc/apt/sources.list.d/${r.name}.list; updated=1
else rm -f /etc/apt/sources.list.d/${r.name}.list.new; fi`;
        });
        const pkgs = args.packages.map(shellQuote).join(" ");
        const script = `
export DEBIAN_FRONTEND=noninteractive
# Several components install on one host at once: wait for the dpkg lock instead of failing.
apt_opts="-y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef"
updated=0
${repos.length > 0 ? `if ! command -v curl >/dev/null; then apt-get update -q -o DPkg::Lock::Timeout=600; apt-get install $apt_opts --no-install-recommends curl ca-certificates; fi
install -d -m 0755 /etc/apt/keyrings` : ""}
${repoLines.join("\n")}
${args.debconf && args.debconf.length > 0 ? "debconf-set-selections" : "cat >/dev/null"}
if [ "$updated" = 1 ] || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then apt-get update -q -o DPkg::Lock::Timeout=600; fi
apt-get install $apt_opts --no-install-recommends ${pkgs} || { apt-get update -q -o DPkg::Lock::Timeout=600; apt-get install $apt_opts --no-install-recommends ${pkgs}; }
`;
        new remote.Command(
            `${name}-install`,
            {
                connection: sshConnection(args.host),
                create: rootScript(args.host, script),
                stdin: (args.debconf ?? []).join("\n") + "\n",
                triggers: ["packages", ...args.packages, ...repos.map((r) => JSON.stringify(r))],
                logging: "stderr",
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
