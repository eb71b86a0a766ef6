import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { TOKENS } from "../tokens";
import { rootScript, sshConnection, SshHostArgs } from "./host";

const UNIT_RE = /^[A-Za-z0-9@._-]+\.(service|timer|socket|target)$/;

export interface ServiceArgs {
    /** Target host. */
    host: SshHostArgs;
    /** systemd unit, e.g. "matrix-synapse.service". */
    unit: string;
    /** Hashes of the files the unit reads; a change in any restarts it. Default []. */
    fileHashes?: pulumi.Input<string>[];
    /** Seconds to wait for the unit to become active. Default 120. */
    startTimeoutSeconds?: number;
    /** Stop and disable the unit on destroy. Default true. */
    stopOnDestroy?: boolean;
}

/**
 * A systemd unit, enabled and running. It is (re)started when created and only when one of its
 * files' hashes changed; an unchanged stack restarts nothing.
 */
export class Service extends pulumi.ComponentResource {
    public readonly unit: string;

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TOKENS.Service, name, {}, opts);
        if (!UNIT_RE.test(args.unit)) throw new pulumi.ResourceError(`Service unit must be a systemd unit name like foo.service, got ${JSON.stringify(args.unit)}`, this);
        const timeout = args.startTimeoutSeconds ?? 120;
        const stopOnDestroy = args.stopOnDestroy ?? true;
        this.unit = args.unit;
        const u = args.unit;
        new remote.Command(
            `${name}-restart`,
            {
                connection: sshConnection(args.host),
                create: rootScript(
                    args.host,
                    `
systemctl daemon-reload
systemctl enable ${u}
systemctl restart ${u}
for i in $(seq 1 ${timeout}); do
  if systemctl is-active --quiet ${u}; then sleep 2; systemctl is-active --quiet ${u} && exit 0; fi
  if systemctl is-failed --quiet ${u}; then break; fi
  sleep 1
done
echo "${u} did not become active; see: journalctl -u ${u}" >&2
systemctl status --no-pager ${u} >&2 || true
exit 1
`,
                ),
                delete: stopOnDestroy ? rootScript(args.host, `systemctl disable --now ${u} || true`) : undefined,
                triggers: [u, ...(args.fileHashes ?? [])],
                logging: "stderr",
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
