/**
 * AdminUi: the synapse-admin / Ketesa static app on the proxy host. A pinned release tarball is
 * fetched on the host and checked against its sha256 before extraction; config.json restricts
 * logins to this deployment's homeserver. ReverseProxy (`adminUi`) serves it.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { TOKENS } from "../tokens";
import { ADMIN_UI_LAYOUT, renderAdminUiConfig } from "../render/admin-ui";
import { releaseId, renderFetchVerifiedTarball, validateReleaseFetch } from "../render/release-fetch";
import { shellQuote } from "../render/format";
import { RemoteFile, rootScript, sshConnection, SshHostArgs } from "../host";

export interface AdminUiArgs {
    /** Host that runs nginx (the ReverseProxy host). */
    host: SshHostArgs;
    /** The homeserver's base URL, the only one the UI may log in to (`restrictBaseUrl`), e.g. https://matrix.example.org. */
    homeserverUrl: pulumi.Input<string>;
    /** Release version, e.g. v0.11.1 (names the release directory). */
    version: string;
    /** Release tarball URL (https). */
    tarballUrl: string;
    /** sha256 of the tarball (64 lower-case hex); checked on the host before extraction. */
    sha256: string;
    /** Leading directories stripped from the tarball. Default 1 (`synapse-admin-x.y.z/`). */
    stripComponents?: number;
    /** Install directory (releases, `current`, config.json). Default "/var/www/synapse-admin". */
    installDir?: string;
    /** Extra config.json keys deep-merged last (e.g. Ketesa `asManagedUsers`). Default {}. */
    extraSettings?: pulumi.Input<Record<string, unknown>>;
}

export class AdminUi extends pulumi.ComponentResource {
    /** Directory nginx serves (ReverseProxy `adminUi.root`). */
    public readonly root: pulumi.Output<string>;
    /** config.json on the host (ReverseProxy `adminUi.configPath`). */
    public readonly configPath: pulumi.Output<string>;
    /** The config.json content. */
    public readonly configJson: pulumi.Output<string>;
    /** Directory name of the installed release. */
    public readonly releaseId: pulumi.Output<string>;

    constructor(name: string, args: AdminUiArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TOKENS.AdminUi, name, {}, opts);
        const installDir = args.installDir ?? ADMIN_UI_LAYOUT.installDir;
        const fetch = { url: args.tarballUrl, sha256: args.sha256, destination: installDir, version: args.version, stripComponents: args.stripComponents ?? 1 };
        try {
            validateReleaseFetch(fetch);
        } catch (e) {
            throw new pulumi.ResourceError(`AdminUi: ${(e as Error).message}`, this);
        }
        const host = args.host;
        const root = `${installDir}/current`;
        const configPath = `${installDir}/config.json`;

        const configJson = pulumi
            .all([pulumi.output(args.homeserverUrl), pulumi.output(args.extraSettings ?? {})])
            .apply(([homeserverUrl, extra]) => renderAdminUiConfig({ homeserverUrl, extraSettings: extra as Record<string, unknown> }));
        const release = new remote.Command(
            `${name}-release`,
            {
                connection: sshConnection(host),
                create: rootScript(host, renderFetchVerifiedTarball(fetch)),
                delete: rootScript(host, `rm -rf --one-file-system ${shellQuote(installDir)}`),
                triggers: ["release", fetch.url, fetch.sha256, installDir, String(fetch.stripComponents)],
                logging: "stderr",
            },
            { parent: this },
        );
        new RemoteFile(`${name}-config`, { host, path: configPath, content: configJson, mode: "0644" }, { parent: this, dependsOn: [release] });

        this.root = pulumi.output(root);
        this.configPath = pulumi.output(configPath);
        this.configJson = configJson;
        this.releaseId = pulumi.output(releaseId(fetch));
        this.registerOutputs({ root: this.root, configPath: this.configPath, configJson: this.configJson, releaseId: this.releaseId });
    }
}
