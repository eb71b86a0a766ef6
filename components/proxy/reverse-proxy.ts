/**
 * ReverseProxy: nginx from Debian in front of everything public. One vhost per FQDN (homeserver,
 * Element, the Matrix domain's `.well-known`, the admin UI), HTTP->HTTPS redirects, TLS from ACME
 * (certbot http-01 + renewal timer), from a provided certificate, or self-signed (staging).
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { remote } from "@pulumi/command";
import { TOKENS } from "../tokens";
import { TLS_MODES } from "../config/edge";
import {
    NGINX_LAYOUT,
    NginxServerOptions,
    NginxSite,
    mergeNginxSites,
    renderCertbotDeployHook,
    renderCertbotScript,
    renderNginxApplyScript,
    renderNginxSites,
} from "../render/nginx";
import { wellKnownDocumentRoot } from "../render/wellknown";
import { ADMIN_UI_LAYOUT } from "../render/admin-ui";
import { Packages, RemoteFile, rootScript, sshConnection, SshHostArgs } from "../host";

/** How the proxy gets its certificate: `acme`, `provided`, `self-signed`. */
export const REVERSE_PROXY_TLS_MODES = TLS_MODES;
export type ReverseProxyTlsMode = (typeof TLS_MODES)[keyof typeof TLS_MODES];

/** The homeserver vhost: Synapse's client and federation APIs. */
export interface ReverseProxyHomeserverArgs {
    /** Homeserver FQDN, e.g. matrix.example.org. */
    domain: string;
    /** Port of Synapse's HTTP listener (`Homeserver.listenerPort`). Default 8008. */
    upstreamPort?: pulumi.Input<number>;
    /** Address nginx reaches that listener on. Default "127.0.0.1" (Synapse listens on loopback). */
    upstreamAddress?: string;
    /** Synapse's max_upload_size (K/M/G suffix or bytes); becomes client_max_body_size. Default "50M". */
    maxUploadSize?: string;
}

/** The Element web vhost: a static app with security headers. */
export interface ReverseProxyElementArgs {
    /** Element FQDN, e.g. chat.example.org (must differ from the homeserver FQDN). */
    domain: string;
    /** Directory with Element's index.html and config.json (ElementClient's). Default "/var/www/element/current". */
    root?: string;
    /** Content-Security-Policy header. Default "frame-ancestors 'self'". */
    contentSecurityPolicy?: string;
}

/** `/.well-known/matrix/*` of the Matrix domain, served from WellKnownDelegation's files. */
export interface ReverseProxyWellKnownArgs {
    /** The Matrix domain (the bare domain), e.g. example.org. */
    domain: string;
    /** Directory with the files `server`, `client`, `support`. Default `/var/www/matrix-well-known/<domain>`. */
    documentRoot?: string;
    /** Serve `support` (`WellKnownDelegation.hasSupport`); false answers 404. Default false. */
    support?: pulumi.Input<boolean>;
}

/** The synapse-admin static app: on its own FQDN, or under a path of the Element FQDN. */
export interface ReverseProxyAdminUiArgs {
    /** Own FQDN. Default: none, served under `path` on the Element domain. */
    domain?: string;
    /** Path on the Element domain when no domain is given. Default "/admin". */
    path?: string;
    /** Directory with the app (AdminUi's `root`). Default "/var/www/synapse-admin/current". */
    root?: string;
    /** Its config.json (AdminUi's `configPath`). Default "/var/www/synapse-admin/config.json". */
    configPath?: string;
}

export interface ReverseProxyArgs {
    /** Host that runs nginx. */
    host: SshHostArgs;
    /** The homeserver vhost. Default: none. */
    homeserver?: ReverseProxyHomeserverArgs;
    /** The Element vhost. Default: none. */
    element?: ReverseProxyElementArgs;
    /** Serve the Matrix domain's `.well-known` documents here. Default: not served by this proxy. */
    wellKnown?: ReverseProxyWellKnownArgs;
    /** Serve the admin UI. Default: none. */
    adminUi?: ReverseProxyAdminUiArgs;
    /** Certificates: `acme`, `provided` or `self-signed` (staging). Default "acme". */
    tls?: ReverseProxyTlsMode;
    /** ACME account email; required with tls `acme`. Default: none. */
    acmeEmail?: string;
    /** ACME directory URL. Default: Let's Encrypt production. */
    acmeServer?: string;
    /** Certificate chain (PEM) covering every FQDN; required with tls `provided`. Default: none. */
    certificatePem?: pulumi.Input<string>;
    /** Private key (PEM) of that certificate; required with tls `provided`. Kept secret. Default: none. */
    privateKeyPem?: pulumi.Input<string>;
    /** Also serve federation on 8448 (443 always works through delegation). Default false. */
    federationPort8448?: boolean;
    /**
     * Source ranges (CIDR) allowed to reach /_synapse/admin (the admin UI's browser needs it).
     * Default []: the admin API answers 403 to everyone.
     */
    adminAllowlist?: string[];
    /** Strict-Transport-Security on every vhost. Default true. */
    hsts?: boolean;
    /** Render `http2 on;` (nginx >= 1.25.1, Debian trixie) instead of the listen flag. Default false (works on bookworm's 1.22 too). */
    http2Directive?: boolean;
}

/** Stable child role from a path-like name. */
const slug = (s: string) => s.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").toLowerCase();

export class ReverseProxy extends pulumi.ComponentResource {
    /** Every FQDN this proxy serves, sorted. */
    public readonly serverNames: pulumi.Output<string[]>;
    /** The nginx files written on the host. */
    public readonly configPaths: pulumi.Output<string[]>;
    /** The certificate (PEM) with tls `self-signed` or `provided`; undefined with ACME. */
    public readonly certificatePem: pulumi.Output<string | undefined>;

    constructor(name: string, args: ReverseProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TOKENS.ReverseProxy, name, {}, opts);
        const fail = (msg: string): never => {
            throw new pulumi.ResourceError(`ReverseProxy: ${msg}`, this);
        };
        const tlsMode = args.tls ?? TLS_MODES.acme;
        if (!Object.values(TLS_MODES).includes(tlsMode)) fail(`tls must be one of ${Object.values(TLS_MODES).join(", ")}, got ${JSON.stringify(tlsMode)}`);
        if (tlsMode === TLS_MODES.acme && !args.acmeEmail) fail("acmeEmail is required with tls: acme");
        if (tlsMode === TLS_MODES.provided && (args.certificatePem === undefined || args.privateKeyPem === undefined)) {
            fail("certificatePem and privateKeyPem are required with tls: provided");
        }
        if (!args.homeserver && !args.element && !args.wellKnown && !args.adminUi) fail("nothing to serve: give homeserver, element, wellKnown or adminUi");
        if (args.adminUi && !args.adminUi.domain && !args.element) fail("adminUi needs its own domain when no element vhost is served (it is mounted under a path of the Element domain)");
        if (args.homeserver && args.element && args.homeserver.domain === args.element.domain) fail("the homeserver must not share a domain with the web client");

        const host = args.host;
        const acme = tlsMode === TLS_MODES.acme;
        const serverOptions: NginxServerOptions = {
            hsts: args.hsts ?? true,
            http2Directive: args.http2Directive ?? false,
            acmeWebroot: acme ? NGINX_LAYOUT.acmeWebroot : undefined,
            certificatePath: NGINX_LAYOUT.certificatePath,
            keyPath: NGINX_LAYOUT.keyPath,
        };

        // The site list, with the two values that may be outputs passed in (port, support).
        const sitesFor = (upstreamPort: number, support: boolean): NginxSite[] => {
            const sites: NginxSite[] = [];
            if (args.homeserver) {
                const hs = args.homeserver;
                const addr = hs.upstreamAddress ?? "127.0.0.1";
                sites.push({
                    serverName: hs.domain,
                    matrixApi: {
                        upstream: `${addr.includes(":") ? `[${addr}]` : addr}:${upstreamPort}`,
                        maxBodySize: hs.maxUploadSize ?? "50M",
                        adminAllowlist: [...(args.adminAllowlist ?? [])],
                        federationPort: args.federationPort8448 ?? false,
                    },
                });
            }
            if (args.element) {
                sites.push({
                    serverName: args.element.domain,
                    apps: [{ urlPath: "/", root: args.element.root ?? NGINX_LAYOUT.elementRoot }],
                    contentSecurityPolicy: args.element.contentSecurityPolicy,
                });
            }
            if (args.wellKnown) {
                sites.push({
                    serverName: args.wellKnown.domain,
                    wellKnown: { documentRoot: args.wellKnown.documentRoot ?? wellKnownDocumentRoot(args.wellKnown.domain), support },
                });
            }
            if (args.adminUi) {
                const a = args.adminUi;
                const app = {
                    urlPath: a.domain ? "/" : (a.path ?? "/admin"),
                    root: a.root ?? ADMIN_UI_LAYOUT.root,
                    fileOverrides: { "config.json": a.configPath ?? ADMIN_UI_LAYOUT.configPath },
                };
                sites.push({ serverName: a.domain ?? args.element!.domain, apps: [app] });
            }
            return sites;
        };

        // Validate everything plain now (bad names, ranges, paths) so errors point at this resource.
        let serverNames: string[] = [];
        let paths: string[] = [];
        try {
            serverNames = mergeNginxSites(sitesFor(8008, false)).map((s) => s.serverName);
            paths = renderNginxSites(sitesFor(8008, false), serverOptions).map((f) => f.path);
            if (acme) renderCertbotScript({ domains: serverNames, email: args.acmeEmail!, server: args.acmeServer });
        } catch (e) {
            fail((e as Error).message);
        }

        const child = { parent: this };
        const packages = new Packages(
            `${name}-packages`,
            { host, packages: ["nginx", "openssl", "curl", "ca-certificates", ...(acme ? ["certbot"] : [])] },
            child,
        );
        const afterPackages = { ...child, dependsOn: [packages] };

        // TLS material.
        const tlsFiles: RemoteFile[] = [];
        let certificatePem: pulumi.Output<string | undefined> = pulumi.output(undefined);
        if (tlsMode === TLS_MODES.selfSigned || tlsMode === TLS_MODES.provided) {
            let cert: pulumi.Input<string>;
            let key: pulumi.Input<string>;
            if (tlsMode === TLS_MODES.selfSigned) {
                const keyPair = new tls.PrivateKey(`${name}-self-signed-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, child);
                const selfSigned = new tls.SelfSignedCert(
                    `${name}-self-signed-cert`,
                    {
                        privateKeyPem: pulumi.secret(keyPair.privateKeyPem),
                        subject: { commonName: serverNames[0], organization: "matrix-maas staging" },
                        dnsNames: serverNames,
                        validityPeriodHours: 24 * 365,
                        earlyRenewalHours: 24 * 30,
                        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
                    },
                    child,
                );
                cert = selfSigned.certPem;
                key = pulumi.secret(keyPair.privateKeyPem);
            } else {
                cert = args.certificatePem!;
                key = pulumi.secret(args.privateKeyPem!);
            }
            certificatePem = pulumi.output(cert);
            tlsFiles.push(
                new RemoteFile(`${name}-tls-certificate`, { host, path: NGINX_LAYOUT.certificatePath, content: cert, mode: "0644" }, afterPackages),
                new RemoteFile(`${name}-tls-key`, { host, path: NGINX_LAYOUT.keyPath, content: key, mode: "0600", secret: true }, afterPackages),
            );
        } else {
            tlsFiles.push(
                new RemoteFile(
                    `${name}-certbot-deploy-hook`,
                    { host, path: NGINX_LAYOUT.deployHookPath, content: renderCertbotDeployHook({ certificatePath: NGINX_LAYOUT.certificatePath, keyPath: NGINX_LAYOUT.keyPath }), mode: "0755" },
                    afterPackages,
                ),
            );
        }

        // The vhost files: rendered once the listener port and support flag are known.
        const rendered = pulumi
            .all([pulumi.output(args.homeserver?.upstreamPort ?? 8008), pulumi.output(args.wellKnown?.support ?? false)])
            .apply(([port, support]) => renderNginxSites(sitesFor(port, support), serverOptions));
        const siteFiles = paths.map((path) => {
            const role = slug(path.slice(path.lastIndexOf("/") + 1).replace(/^matrix-maas-/, "").replace(/\.conf$/, ""));
            const content = rendered.apply((files) => {
                const f = files.find((x) => x.path === path);
                if (!f) throw new Error(`internal: ${path} not rendered`);
                return f.content;
            });
            return new RemoteFile(`${name}-site-${role}`, { host, path, content, mode: "0644" }, afterPackages);
        });

        const reload = new remote.Command(
            `${name}-reload`,
            {
                connection: sshConnection(host),
                create: rootScript(
                    host,
                    renderNginxApplyScript({
                        directories: acme ? [NGINX_LAYOUT.acmeWebroot] : [],
                        placeholder: acme ? { certificatePath: NGINX_LAYOUT.certificatePath, keyPath: NGINX_LAYOUT.keyPath, commonName: serverNames[0] } : undefined,
                    }),
                ),
                triggers: ["nginx", ...siteFiles.map((f) => f.hash), ...tlsFiles.map((f) => f.hash)],
                logging: "stderr",
            },
            { ...child, dependsOn: [packages, ...siteFiles, ...tlsFiles] },
        );

        if (acme) {
            const script = renderCertbotScript({ domains: serverNames, email: args.acmeEmail!, server: args.acmeServer });
            new remote.Command(
                `${name}-acme`,
                {
                    connection: sshConnection(host),
                    create: rootScript(host, script),
                    triggers: ["acme", args.acmeEmail!, args.acmeServer ?? "letsencrypt", ...serverNames],
                    logging: "stderr",
                },
                { ...child, dependsOn: [reload, ...tlsFiles] },
            );
        }

        this.serverNames = pulumi.output(serverNames);
        this.configPaths = pulumi.output(paths);
        this.certificatePem = certificatePem;
        this.registerOutputs({ serverNames: this.serverNames, configPaths: this.configPaths, certificatePem: this.certificatePem });
    }
}
