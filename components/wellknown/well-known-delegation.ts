/**
 * WellKnownDelegation: the Matrix domain's `/.well-known/matrix/{server,client,support}`.
 * Writes the documents as files on the proxy host (ReverseProxy serves them as application/json
 * with `Access-Control-Allow-Origin: *`), or, when the bare domain is served elsewhere, only
 * outputs the JSON for the operator to publish.
 */
import * as pulumi from "@pulumi/pulumi";
import { TOKENS } from "../tokens";
import { renderWellKnown, WellKnownInput, wellKnownDocumentRoot } from "../render/wellknown";
import { RemoteFile, SshHostArgs } from "../host";

/** One `/.well-known/matrix/support` contact. */
export interface WellKnownDelegationSupportContactArgs {
    /** `m.role.admin`, `m.role.security`, `m.role.moderator` or a namespaced role. */
    role: string;
    /** Matrix user id, e.g. `@admin:example.org`. Default: none (then emailAddress is required). */
    matrixId?: string;
    /** Email address. Default: none (then matrixId is required). */
    emailAddress?: string;
}

export interface WellKnownDelegationArgs {
    /** The Matrix domain (server_name), whose `/.well-known` is published. */
    matrixDomain: string;
    /** Homeserver FQDN: `m.server` is `<homeserverDomain>:<serverPort>`, base_url `https://<homeserverDomain>`. */
    homeserverDomain: string;
    /** Port in `m.server`. Default 443. */
    serverPort?: number;
    /** `m.identity_server.base_url`. Default: none. */
    identityServer?: pulumi.Input<string>;
    /** Extra keys merged into the client document (e.g. `io.element.e2ee`). Default {}. */
    clientExtras?: pulumi.Input<Record<string, unknown>>;
    /** `/.well-known/matrix/support` contacts. Default [] (with no supportPage: support answers 404). */
    supportContacts?: WellKnownDelegationSupportContactArgs[];
    /** `/.well-known/matrix/support` support_page (https URL). Default: none. */
    supportPage?: string;
    /** Write the documents to `host` for ReverseProxy to serve; false: outputs only. Default true. */
    serveOnMatrixDomain?: boolean;
    /** Proxy host; required when serveOnMatrixDomain is true. */
    host?: SshHostArgs;
    /** Directory on the host. Default `/var/www/matrix-well-known/<matrixDomain>`. */
    documentRoot?: string;
}

export class WellKnownDelegation extends pulumi.ComponentResource {
    /** `/.well-known/matrix/server` JSON. */
    public readonly serverJson: pulumi.Output<string>;
    /** `/.well-known/matrix/client` JSON. */
    public readonly clientJson: pulumi.Output<string>;
    /** `/.well-known/matrix/support` JSON; undefined when there is nothing to publish (serve 404). */
    public readonly supportJson: pulumi.Output<string | undefined>;
    /** Whether a support document is published. */
    public readonly hasSupport: pulumi.Output<boolean>;
    /** Directory holding the files on the proxy host (ReverseProxy `wellKnown.documentRoot`). */
    public readonly documentRoot: pulumi.Output<string>;

    constructor(name: string, args: WellKnownDelegationArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TOKENS.WellKnownDelegation, name, {}, opts);
        const serve = args.serveOnMatrixDomain ?? true;
        const documentRoot = args.documentRoot ?? wellKnownDocumentRoot(args.matrixDomain);
        const plain: WellKnownInput = {
            homeserverDomain: args.homeserverDomain,
            serverPort: args.serverPort,
            supportContacts: (args.supportContacts ?? []).map((c) => ({ ...c })),
            supportPage: args.supportPage,
        };
        let hasSupport = false;
        try {
            if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(args.matrixDomain)) {
                throw new Error(`matrixDomain must be a lower-case DNS name, got ${JSON.stringify(args.matrixDomain)}`);
            }
            if (!/^\/[A-Za-z0-9._@\-/]+$/.test(documentRoot) || documentRoot.split("/").includes("..")) throw new Error(`documentRoot must be a plain absolute path, got ${JSON.stringify(documentRoot)}`);
            hasSupport = renderWellKnown(plain).support !== undefined;
        } catch (e) {
            throw new pulumi.ResourceError(`WellKnownDelegation: ${(e as Error).message}`, this);
        }
        if (serve && !args.host) throw new pulumi.ResourceError("WellKnownDelegation: host is required when serveOnMatrixDomain is true", this);

        const docs = pulumi
            .all([pulumi.output(args.identityServer), pulumi.output(args.clientExtras ?? {})])
            .apply(([identityServer, clientExtras]) => renderWellKnown({ ...plain, identityServer, clientExtras: clientExtras as Record<string, unknown> }));
        this.serverJson = docs.server;
        this.clientJson = docs.client;
        this.supportJson = docs.support;
        this.hasSupport = pulumi.output(hasSupport);
        this.documentRoot = pulumi.output(documentRoot);

        if (serve) {
            const host = args.host!;
            const files: [string, pulumi.Output<string>][] = [
                ["server", this.serverJson],
                ["client", this.clientJson],
            ];
            if (hasSupport) files.push(["support", this.supportJson.apply((s) => s ?? "")]);
            for (const [doc, content] of files) {
                new RemoteFile(`${name}-${doc}`, { host, path: `${documentRoot}/${doc}`, content, mode: "0644" }, { parent: this });
            }
        }
        this.registerOutputs({
            serverJson: this.serverJson,
            clientJson: this.clientJson,
            supportJson: this.supportJson,
            hasSupport: this.hasSupport,
            documentRoot: this.documentRoot,
        });
    }
}
