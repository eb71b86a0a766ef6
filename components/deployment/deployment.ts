/**
 * MatrixDeployment: every component of one deployment, wired from one validated stack config.
 */
import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";
import { TOKENS } from "../tokens";
import { StackConfig } from "../config/schema";
import { SshHostArgs } from "../host";
import { Homeserver } from "../homeserver";
import { DnsRecords, DnsRecordsNameArgs } from "../dns";
import { ReverseProxy } from "../proxy";
import { WellKnownDelegation } from "../wellknown";
import { AdminUi } from "../adminui";

/** Which FQDN is served by which host (for DNS): the proxy serves the web names, coturn its own. */
export function publicNames(c: StackConfig): DnsRecordsNameArgs[] {
    const proxyAddr = [c.hosts[c.proxy.host]?.address].filter((a): a is string => !!a);
    const names: DnsRecordsNameArgs[] = [];
    const add = (fqdn: string, addresses: string[]) => {
        const existing = names.find((n) => n.fqdn === fqdn);
        if (existing) existing.addresses = [...new Set([...existing.addresses, ...addresses])];
        else names.push({ fqdn, addresses: [...addresses] });
    };
    if (c.wellKnown.serveOnMatrixDomain) add(c.matrixDomain, proxyAddr);
    add(c.homeserverDomain, proxyAddr);
    if (c.element.enabled) add(c.elementDomain, proxyAddr);
    if (c.adminUi.enabled && c.adminUi.domain) add(c.adminUi.domain, proxyAddr);
    if (c.turn.enabled) add(c.turn.domain ?? c.homeserverDomain, [c.hosts[c.turn.host]?.address].filter((a): a is string => !!a));
    return names;
}

export interface MatrixDeploymentArgs {
    /** The validated stack config (from `loadStackConfig`). */
    config: StackConfig;
    /** SSH private key for every host (secret). */
    sshPrivateKey: pulumi.Input<string>;
    /** Password of `database.adminUser` for the postgresql provider (secret). */
    postgresAdminPassword: pulumi.Input<string>;
    /** SMTP password (secret). Default: none. */
    smtpPassword?: pulumi.Input<string>;
    /** TLS private key (PEM) with proxy.tls "provided" (secret). Default: none. */
    tlsPrivateKey?: pulumi.Input<string>;
    /** reCAPTCHA private key (secret). Default: none. */
    recaptchaPrivateKey?: pulumi.Input<string>;
    /** LDAP bind password (secret). Default: none. */
    ldapBindPassword?: pulumi.Input<string>;
    /** OIDC client secret (secret). Default: none. */
    oidcClientSecret?: pulumi.Input<string>;
}

export class MatrixDeployment extends pulumi.ComponentResource {
    /** `https://<homeserverDomain>/`. */
    public readonly homeserverUrl: pulumi.Output<string>;
    /** `https://<elementDomain>/`. */
    public readonly elementUrl: pulumi.Output<string>;
    /** The admin's user id. */
    public readonly adminUserId: pulumi.Output<string>;
    /** The admin's password (secret). */
    public readonly adminPassword: pulumi.Output<string>;
    /** `/.well-known/matrix/server` JSON, to publish where the bare domain is served elsewhere. */
    public readonly wellKnownServerJson: pulumi.Output<string>;
    /** `/.well-known/matrix/client` JSON. */
    public readonly wellKnownClientJson: pulumi.Output<string>;
    /** DNS records this stack does not manage and someone must publish (all of them when dns is off). */
    public readonly dnsRecordsToPublish: pulumi.Output<string[]>;
    /** The public signing key id. */
    public readonly signingKeyId: pulumi.Output<string>;

    constructor(name: string, args: MatrixDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TOKENS.MatrixDeployment, name, {}, opts);
        const c = args.config;
        const hosts: Record<string, SshHostArgs> = Object.fromEntries(
            Object.entries(c.hosts).map(([hostName, h]) => [
                hostName,
                { name: hostName, address: h.address, port: h.port, user: h.user, hostKey: h.hostKey, privateKey: pulumi.secret(args.sshPrivateKey) },
            ]),
        );
        const synapseHost = hosts[c.synapse.host];
        if (!synapseHost) throw new pulumi.ResourceError(`MatrixDeployment: synapse.host ${c.synapse.host} is not in hosts`, this);

        const postgresProvider = new postgresql.Provider(
            `${name}-postgres`,
            {
                host: c.database.adminHost ?? c.hosts[c.synapse.host].address,
                port: c.database.adminPort,
                username: c.database.adminUser,
                password: pulumi.secret(args.postgresAdminPassword),
                sslmode: c.database.sslmode,
                superuser: true,
            },
            { parent: this },
        );

        const homeserver = new Homeserver(
            `${name}-homeserver`,
            {
                serverName: c.matrixDomain,
                homeserverDomain: c.homeserverDomain,
                host: synapseHost,
                synapse: c.synapse,
                database: c.database,
                email: c.email,
                smtpPassword: args.smtpPassword === undefined ? undefined : pulumi.secret(args.smtpPassword),
                recaptchaPrivateKey: args.recaptchaPrivateKey === undefined ? undefined : pulumi.secret(args.recaptchaPrivateKey),
                ldapBindPassword: args.ldapBindPassword === undefined ? undefined : pulumi.secret(args.ldapBindPassword),
                oidcClientSecret: args.oidcClientSecret === undefined ? undefined : pulumi.secret(args.oidcClientSecret),
                adminLocalpart: c.adminLocalpart,
                release: c.release,
                providers: { postgresql: postgresProvider },
            },
            { parent: this },
        );

        const proxyHost = hosts[c.proxy.host];
        const wellKnown = new WellKnownDelegation(
            `${name}-well-known`,
            {
                matrixDomain: c.matrixDomain,
                homeserverDomain: c.homeserverDomain,
                identityServer: c.wellKnown.identityServer,
                clientExtras: c.wellKnown.clientExtras,
                supportContacts: c.wellKnown.supportContacts,
                supportPage: c.wellKnown.supportPage,
                serveOnMatrixDomain: c.wellKnown.serveOnMatrixDomain,
                host: proxyHost,
            },
            { parent: this },
        );
        const proxy = new ReverseProxy(
            `${name}-proxy`,
            {
                host: proxyHost,
                homeserver: { domain: c.homeserverDomain, upstreamPort: homeserver.listenerPort, maxUploadSize: String(c.synapse.media.maxUploadSize) },
                element: c.element.enabled ? { domain: c.elementDomain } : undefined,
                wellKnown: c.wellKnown.serveOnMatrixDomain ? { domain: c.matrixDomain, support: wellKnown.hasSupport } : undefined,
                adminUi: c.adminUi.enabled ? { domain: c.adminUi.domain, path: c.adminUi.path } : undefined,
                tls: c.proxy.tls,
                acmeEmail: c.proxy.acmeEmail,
                acmeServer: c.proxy.acmeServer,
                certificatePem: c.proxy.certificatePem,
                privateKeyPem: args.tlsPrivateKey === undefined ? undefined : pulumi.secret(args.tlsPrivateKey),
                federationPort8448: c.proxy.federationPort8448,
                adminAllowlist: c.proxy.adminAllowlist,
                hsts: c.proxy.hsts,
            },
            { parent: this, dependsOn: [wellKnown] },
        );
        if (c.adminUi.enabled) {
            new AdminUi(
                `${name}-admin-ui`,
                // Validated by the schema: enabled implies version, tarballUrl and sha256.
                { host: proxyHost, homeserverUrl: `https://${c.homeserverDomain}`, version: c.adminUi.version!, tarballUrl: c.adminUi.tarballUrl!, sha256: c.adminUi.sha256! },
                // The proxy installs curl, which the release fetch uses.
                { parent: this, dependsOn: [proxy] },
            );
        }

        const dns = !c.dns.enabled
            ? undefined
            : new DnsRecords(
                `${name}-dns`,
                {
                    zoneId: c.dns.zoneId,
                    zoneName: c.dns.zoneName,
                    matrixDomain: c.matrixDomain,
                    homeserverDomain: c.homeserverDomain,
                    names: publicNames(c),
                    ipv4ProxyAddress: c.dns.ipv4ProxyAddress,
                    ttl: c.dns.ttl,
                    srvFederation: c.dns.srvFederation,
                    srvLegacy: c.dns.srvLegacy,
                    srvPriority: c.dns.srvPriority,
                    srvWeight: c.dns.srvWeight,
                    srvPort: c.dns.srvPort,
                    identitySrvTarget: c.dns.identitySrvTarget,
                },
                { parent: this },
            );

        this.dnsRecordsToPublish = dns ? dns.unmanagedRecords : pulumi.output(publicNames(c).flatMap((n) => n.addresses.map((a) => `${a.includes(":") ? "AAAA" : "A"} ${n.fqdn} ${a}`)));
        this.wellKnownServerJson = wellKnown.serverJson;
        this.wellKnownClientJson = wellKnown.clientJson;
        this.homeserverUrl = homeserver.publicBaseUrl;
        this.elementUrl = pulumi.output(`https://${c.elementDomain}/`);
        this.adminUserId = homeserver.adminUserId;
        this.adminPassword = homeserver.adminPassword;
        this.signingKeyId = homeserver.signingKeyId;
        this.registerOutputs({
            homeserverUrl: this.homeserverUrl,
            elementUrl: this.elementUrl,
            adminUserId: this.adminUserId,
            adminPassword: this.adminPassword,
            signingKeyId: this.signingKeyId,
            dnsRecordsToPublish: this.dnsRecordsToPublish,
            wellKnownServerJson: this.wellKnownServerJson,
            wellKnownClientJson: this.wellKnownClientJson,
        });
    }
}
