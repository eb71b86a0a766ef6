/**
 * Stack config for the public edge: reverse proxy + TLS, delegation, DNS, Element, TURN, admin UI.
 * Cross-key rules live in `refineEdge`, called from the top-level schema's superRefine.
 */
import { z } from "zod";
import { cidr, dnsName, duration, httpsUrl, ipAddress, ipv4, port, releaseVersion, sha256 } from "./primitives";

const version = releaseVersion;

export const TLS_MODES = { acme: "acme", provided: "provided", selfSigned: "self-signed" } as const;

export const proxySchema = z
    .object({
        host: z.string().default("main").describe("Name (in `hosts`) of the host that runs nginx."),
        tls: z.enum(["acme", "provided", "self-signed"]).default("acme").describe("Certificates: `acme` (certbot http-01 + renewal timer), `provided` (proxy.certificatePem + secret key tlsPrivateKey), `self-signed` (@pulumi/tls; staging only)."),
        acmeEmail: z.string().regex(/^[^@\s]+@[^@\s]+\.[a-z]+$/, "must be an email address").optional().describe("Account email for ACME (required with tls: acme)."),
        acmeServer: httpsUrl.optional().describe("ACME directory URL; default Let's Encrypt production."),
        certificatePem: z.string().optional().describe("Certificate chain (PEM) covering every FQDN, with tls: provided."),
        federationPort8448: z.boolean().default(false).describe("Also serve federation on 8448 (443 always works via delegation)."),
        adminAllowlist: z.array(cidr).default([]).describe("Source ranges allowed to reach /_synapse/admin; empty = not reachable from the internet."),
        hsts: z.boolean().default(true).describe("Strict-Transport-Security on every vhost."),
    })
    .strict()
    .prefault({});

const supportContact = z
    .object({
        role: z.enum(["m.role.admin", "m.role.security", "m.role.moderator"]).describe("Contact role."),
        matrixId: z.string().regex(/^@[^:]+:.+$/, "must be a Matrix user ID such as @admin:example.org").optional(),
        emailAddress: z.string().regex(/^[^@\s]+@[^@\s]+$/, "must be an email address").optional(),
    })
    .strict()
    .refine((c) => c.matrixId || c.emailAddress, "needs matrixId or emailAddress");

export const wellKnownSchema = z
    .object({
        serveOnMatrixDomain: z.boolean().default(true).describe("Serve /.well-known/matrix/* on the Matrix domain from this proxy; false: only output the JSON for the operator to publish elsewhere."),
        identityServer: httpsUrl.optional().describe("m.identity_server base_url in /.well-known/matrix/client."),
        supportContacts: z.array(supportContact).default([]).describe("/.well-known/matrix/support contacts ({role, matrixId, emailAddress})."),
        supportPage: httpsUrl.optional().describe("/.well-known/matrix/support support_page."),
        clientExtras: z.record(z.string(), z.unknown()).default({}).describe("Extra keys merged into /.well-known/matrix/client (e.g. io.element.e2ee)."),
    })
    .strict()
    .prefault({});

export const dnsSchema = z
    .object({
        enabled: z.boolean().default(false).describe("Manage Cloudflare records (provider config `cloudflare:apiToken`)."),
        zoneId: z.string().regex(/^[0-9a-f]{32}$/, "must be a 32-hex Cloudflare zone id").optional().describe("Zone id; or give zoneName."),
        zoneName: dnsName.optional().describe("Zone name, looked up when zoneId is not given."),
        ttl: z.number().int().min(1).max(86400).default(300).describe("TTL in seconds (1 = automatic)."),
        ipv4ProxyAddress: ipv4.optional().describe("IPv4 of a v4-to-v6 proxy: adds A records for every FQDN."),
        srvFederation: z.boolean().default(false).describe("Publish _matrix-fed._tcp.<matrixDomain> SRV."),
        srvLegacy: z.boolean().default(false).describe("Also publish the deprecated _matrix._tcp SRV (older servers)."),
        srvPriority: z.number().int().min(0).max(65535).default(10).describe("SRV priority."),
        srvWeight: z.number().int().min(0).max(65535).default(5).describe("SRV weight."),
        srvPort: port.default(443).describe("SRV port."),
        identitySrvTarget: dnsName.optional().describe("Publish _matrix-identity._tcp pointing here."),
    })
    .strict()
    .prefault({});

export const elementSchema = z
    .object({
        enabled: z.boolean().default(true).describe("Serve Element web on elementDomain."),
        version: version.optional().describe("Element web release, e.g. v1.11.90 (required when enabled)."),
        tarballUrl: httpsUrl.optional().describe("Release tarball URL; default the element-web GitHub release of `version`."),
        sha256: sha256.optional().describe("sha256 of the tarball (required when enabled; checked before extraction)."),
        brand: z.string().min(1).default("Element").describe("brand."),
        defaultCountryCode: z.string().regex(/^[A-Z]{2}$/, "must be a two-letter country code such as DE").optional().describe("default_country_code."),
        defaultTheme: z.string().default("light").describe("default_theme."),
        customThemes: z.array(z.record(z.string(), z.unknown())).default([]).describe("setting_defaults.custom_themes."),
        welcomePageUrl: httpsUrl.optional().describe("embedded_pages.welcome_url."),
        welcomeHtml: z.string().optional().describe("A custom welcome.html served by this vhost (instead of welcomePageUrl)."),
        disableCustomUrls: z.boolean().default(true).describe("disable_custom_urls: users cannot switch homeserver."),
        jitsiDomain: dnsName.optional().describe("jitsi.preferred_domain."),
        elementCallUrl: httpsUrl.optional().describe("element_call.url."),
        roomDirectoryServers: z.array(dnsName).optional().describe("room_directory.servers; default [matrixDomain]."),
    })
    .strict()
    .prefault({});

export const turnSchema = z
    .object({
        enabled: z.boolean().default(true).describe("Run coturn and give Synapse its URIs and shared secret."),
        host: z.string().default("main").describe("Name (in `hosts`) of the host that runs coturn; may be a shared TURN host."),
        domain: dnsName.optional().describe("FQDN in the turn: URIs; default homeserverDomain."),
        realm: dnsName.optional().describe("coturn realm; default the TURN domain."),
        externalIp: ipAddress.optional().describe("external-ip when coturn is behind NAT."),
        relayIps: z.array(ipAddress).default([]).describe("allowed-peer-ip: the relay's own public addresses."),
        port: port.default(3478).describe("listening-port (udp+tcp)."),
        tlsPort: port.default(5349).describe("tls-listening-port (with tls)."),
        tls: z.boolean().default(false).describe("Offer turns: with the proxy's certificate."),
        relayPortMin: port.default(49152).describe("min-port of the relay range."),
        relayPortMax: port.default(65535).describe("max-port of the relay range."),
        userLifetime: duration.default("1h").describe("turn_user_lifetime."),
        allowGuests: z.boolean().default(true).describe("turn_allow_guests."),
    })
    .strict()
    .prefault({});

export const adminUiSchema = z
    .object({
        enabled: z.boolean().default(false).describe("Serve the synapse-admin (Ketesa) static app."),
        domain: dnsName.optional().describe("Own FQDN for the admin UI; default: served under `path` on elementDomain."),
        path: z.string().regex(/^\/[a-z0-9-]+$/, "must be a URL path such as /admin").default("/admin").describe("Path on elementDomain when no domain is given."),
        version: version.optional().describe("Release version (required when enabled)."),
        tarballUrl: httpsUrl.optional().describe("Release tarball URL (required when enabled)."),
        sha256: sha256.optional().describe("sha256 of the tarball (required when enabled)."),
    })
    .strict()
    .prefault({});

/** The edge keys of the stack config. */
export const edgeShape = {
    proxy: proxySchema.describe("Reverse proxy (nginx) and TLS."),
    wellKnown: wellKnownSchema.describe(".well-known delegation on the Matrix domain."),
    dns: dnsSchema.describe("Cloudflare DNS records."),
    element: elementSchema.describe("Element web client."),
    turn: turnSchema.describe("TURN relay (coturn)."),
    adminUi: adminUiSchema.describe("synapse-admin / Ketesa web UI."),
};

export interface EdgeView {
    matrixDomain: string;
    homeserverDomain: string;
    elementDomain: string;
    hosts: Record<string, unknown>;
    proxy: z.output<typeof proxySchema>;
    wellKnown: z.output<typeof wellKnownSchema>;
    dns: z.output<typeof dnsSchema>;
    element: z.output<typeof elementSchema>;
    turn: z.output<typeof turnSchema>;
    adminUi: z.output<typeof adminUiSchema>;
}

type Issue = { path: (string | number)[]; message: string };

/** Cross-key rules of the edge; each issue names its key. */
export function refineEdge(c: EdgeView, secretKeysSet: ReadonlyArray<string> | undefined): Issue[] {
    const issues: Issue[] = [];
    const hostNames = Object.keys(c.hosts);
    for (const [key, host] of [["proxy", c.proxy.host], ["turn", c.turn.host]] as const) {
        if (hostNames.length > 0 && !hostNames.includes(host)) issues.push({ path: [key, "host"], message: `must name one of hosts (${hostNames.join(", ")})` });
    }
    if (c.proxy.tls === "acme" && !c.proxy.acmeEmail) issues.push({ path: ["proxy", "acmeEmail"], message: "is required with proxy.tls: acme (Let's Encrypt account email)" });
    if (c.proxy.tls === "provided" && !c.proxy.certificatePem) issues.push({ path: ["proxy", "certificatePem"], message: "is required with proxy.tls: provided (PEM chain covering every FQDN)" });
    if (c.proxy.tls === "provided" && secretKeysSet && !secretKeysSet.includes("tlsPrivateKey")) {
        issues.push({ path: ["tlsPrivateKey"], message: "is required with proxy.tls: provided: pulumi config set --secret tlsPrivateKey < key.pem" });
    }
    if (c.dns.enabled && !c.dns.zoneId && !c.dns.zoneName) issues.push({ path: ["dns", "zoneId"], message: "or dns.zoneName is required when dns.enabled is true" });
    if (c.element.enabled) {
        if (!c.element.version) issues.push({ path: ["element", "version"], message: "is required when element.enabled is true, e.g. v1.11.90" });
        if (!c.element.sha256) issues.push({ path: ["element", "sha256"], message: "is required when element.enabled is true: the sha256 of the release tarball" });
        if (c.element.welcomeHtml && c.element.welcomePageUrl) issues.push({ path: ["element", "welcomeHtml"], message: "and element.welcomePageUrl are exclusive: give one" });
    }
    if (c.turn.enabled) {
        if (c.turn.relayPortMin > c.turn.relayPortMax) issues.push({ path: ["turn", "relayPortMin"], message: `must not exceed turn.relayPortMax (${c.turn.relayPortMax})` });
        if (c.turn.port === c.turn.tlsPort) issues.push({ path: ["turn", "tlsPort"], message: "must differ from turn.port" });
        if (c.turn.relayPortMin <= c.turn.port && c.turn.port <= c.turn.relayPortMax) issues.push({ path: ["turn", "port"], message: "must lie outside the relay port range" });
    }
    if (c.adminUi.enabled) {
        for (const k of ["version", "tarballUrl", "sha256"] as const) {
            if (!c.adminUi[k]) issues.push({ path: ["adminUi", k], message: "is required when adminUi.enabled is true" });
        }
        if (c.adminUi.domain && [c.homeserverDomain, c.elementDomain, c.matrixDomain].includes(c.adminUi.domain)) {
            issues.push({ path: ["adminUi", "domain"], message: "must be its own FQDN (not the Matrix, homeserver or Element name); or leave it out to use adminUi.path" });
        }
    }
    const fqdns = [c.homeserverDomain, c.elementDomain];
    if (c.turn.domain && c.turn.domain === c.elementDomain) issues.push({ path: ["turn", "domain"], message: "must not be the web client FQDN" });
    void fqdns;
    return issues;
}
