/**
 * The "venv" install method: Synapse from PyPI in a virtualenv on Debian's Python, run by a
 * systemd unit of our own (the Debian package's layout and service name, so both methods share
 * config paths, users and operations). Pure: settings in, file contents and scripts out.
 */
import { shellQuote } from "./format";
import { RenderedFile } from "./types";
import { SynapseSettings, synapseConfigPaths } from "./synapse";

export const SYNAPSE_INSTALL_METHODS = { apt: "apt", venv: "venv" } as const;

/** Where the venv lives: the same path the Debian package uses for its bundled venv. */
export const SYNAPSE_VENV_DIR = "/opt/venvs/matrix-synapse";

/** Debian packages the venv method needs to build and run Synapse (psycopg2 builds against libpq). */
export const SYNAPSE_VENV_BUILD_PACKAGES = [
    "python3",
    "python3-venv",
    "python3-dev",
    "build-essential",
    "libpq-dev",
    "libffi-dev",
    "libssl-dev",
    "libjpeg-dev",
    "libxslt1-dev",
    "libicu-dev",
    "pkg-config",
    "curl",
    "ca-certificates",
];

/** Modules installed next to Synapse by the venv method (the Debian package bundles them). */
export const SYNAPSE_VENV_MODULES = ["matrix-synapse-ldap3==0.4.0"];

/** argv of the homeserver process, as the unit and the real tests start it. */
export function synapseCommand(venvDir: string, s: Pick<SynapseSettings, "configDir">): string[] {
    return [`${venvDir}/bin/python`, "-m", "synapse.app.homeserver", ...synapseConfigPaths(s).map((p) => `--config-path=${p}`)];
}

/**
 * The systemd unit for a venv install: notify-type like Debian's, plus a hardened runtime (read-only
 * system, no capabilities, private /tmp, writable only where Synapse keeps data and logs).
 */
export function renderSynapseUnit(s: SynapseSettings, venvDir: string = SYNAPSE_VENV_DIR): RenderedFile {
    const writable = [...new Set([s.dataDir, s.logDir, s.media.storePath])].sort();
    const lines = [
        "# Managed by matrix-maas.",
        "[Unit]",
        "Description=Synapse Matrix homeserver (venv)",
        "After=network-online.target postgresql.service",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        `User=${s.user}`,
        `Group=${s.group}`,
        `WorkingDirectory=${s.dataDir}`,
        `ExecStart=${synapseCommand(venvDir, s).join(" ")}`,
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=always",
        "RestartSec=3",
        "SyslogIdentifier=matrix-synapse",
        "NoNewPrivileges=true",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "ProtectSystem=strict",
        "ProtectHome=true",
        "PrivateTmp=true",
        "PrivateDevices=true",
        "ProtectKernelTunables=true",
        "ProtectKernelModules=true",
        "ProtectControlGroups=true",
        "RestrictSUIDSGID=true",
        "LockPersonality=true",
        `ReadWritePaths=${writable.join(" ")}`,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ];
    return { path: "/etc/systemd/system/matrix-synapse.service", content: lines.join("\n"), mode: "0644", owner: "root", group: "root", secret: false };
}

/**
 * Idempotent install script: service user, directories, venv, and `matrix-synapse[postgres]==version`
 * (skipped when that version is already installed).
 */
export function renderSynapseVenvInstallScript(o: { version: string; venvDir?: string; user: string; group: string; dirs: string[]; configDir: string }): string {
    if (!/^[0-9]+\.[0-9]+\.[0-9]+$/.test(o.version)) throw new Error(`Synapse version must look like 1.163.2, got ${JSON.stringify(o.version)}`);
    const venv = shellQuote(o.venvDir ?? SYNAPSE_VENV_DIR);
    const user = shellQuote(o.user);
    const group = shellQuote(o.group);
    const dirs = o.dirs.map(shellQuote).join(" ");
    return `
getent group ${group} >/dev/null || addgroup --system ${group}
getent passwd ${user} >/dev/null || adduser --system --ingroup ${group} --home /var/lib/matrix-synapse --no-create-home --disabled-login ${user}
install -d -m 0755 -o root -g ${group} ${shellQuote(o.configDir)} ${shellQuote(o.configDir + "/conf.d")}
for d in ${dirs}; do install -d -m 0750 -o ${user} -g ${group} "$d"; done
if [ -x ${venv}/bin/python ] && ${venv}/bin/python -c "import synapse, ldap_auth_provider, sys; sys.exit(0 if synapse.__version__ == '${o.version}' else 1)" 2>/dev/null; then
  echo "Synapse ${o.version} already installed"
  exit 0
fi
[ -x ${venv}/bin/python ] || python3 -m venv ${venv}
${venv}/bin/pip install --quiet --disable-pip-version-check --upgrade pip
${venv}/bin/pip install --quiet --disable-pip-version-check 'matrix-synapse[postgres,oidc]==${o.version}' ${SYNAPSE_VENV_MODULES.map(shellQuote).join(" ")}
ln -sf ${venv}/bin/register_new_matrix_user /usr/local/bin/register_new_matrix_user
`;
}
