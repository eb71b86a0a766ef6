/**
 * The stack config schema: one zod schema for every `matrix-maas:*` key.
 *
 * Every field carries a description (`.describe`) so the README table and Pulumi.yaml can be
 * generated from this file. Error messages say what would be valid; the loader prefixes the key.
 */
import { z } from "zod";
import { isIP } from "node:net";
import { edgeShape, refineEdge } from "./edge";
import { DNS_NAME_RE, dnsName, duration, ipAddress, port, size } from "./primitives";
import { consentSchema, refineOperations, registrationSchema, serverNoticesSchema } from "./operations";

export { dnsName };

export const CONFIG_NAMESPACE = "matrix-maas";

const LOCALPART_RE = /^[a-z0-9._=\-/+]+$/;
const HOST_NAME_RE = /^[a-z][a-z0-9-]{0,30}$/;
const ABS_PATH_RE = /^\/[A-Za-z0-9._\-/]*$/;

const absPath = z.string().regex(ABS_PATH_RE, "must be an absolute path of letters, digits, '.', '_', '-' and '/'");
const localpart = z.string().regex(LOCALPART_RE, "must be a Matrix localpart: lower-case letters, digits and ._=-/+");
const mimeType = z.string().regex(/^[a-z]+\/[a-z0-9.+*-]+$/, "must be a MIME type such as image/png");

export const hostSchema = z
    .object({
        address: ipAddress.describe("IPv6 (normal) or IPv4 address the SSH connection goes to."),
        port: port.default(22).describe("SSH port."),
        user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, "must be a Unix user name").default("root").describe("SSH user (root or a user with passwordless sudo)."),
        hostKey: z.string().optional().describe("Expected SSH host public key (`ssh-ed25519 AAAA...`); pins the host when set."),
    })
    .strict();

const passwordSchema = z
    .object({
        minimumLength: z.number().int().min(8, "must be at least 8").max(128).default(12).describe("password_config.policy.minimum_length"),
        requireDigit: z.boolean().default(true).describe("password_config.policy.require_digit"),
        requireSymbol: z.boolean().default(false).describe("password_config.policy.require_symbol"),
        requireLowercase: z.boolean().default(true).describe("password_config.policy.require_lowercase"),
        requireUppercase: z.boolean().default(true).describe("password_config.policy.require_uppercase"),
        localdbEnabled: z.boolean().default(true).describe("password_config.localdb_enabled: passwords stored in Synapse's database."),
    })
    .strict()
    .prefault({});

const federationSchema = z
    .object({
        enabled: z.boolean().default(true).describe("false turns federation off (federation_domain_whitelist: [])."),
        domainWhitelist: z.array(dnsName).optional().describe("federation_domain_whitelist: only these servers may federate."),
        allowPublicRoomsOverFederation: z.boolean().default(false).describe("allow_public_rooms_over_federation."),
        limitRemoteRoomsComplexity: z.number().positive().optional().describe("limit_remote_rooms.complexity: refuse to join remote rooms heavier than this."),
        extraIpRangeBlacklist: z.array(z.string()).default([]).describe("CIDRs added to ip_range_blacklist (private ranges are always blocked)."),
    })
    .strict()
    .prefault({});

const mediaSchema = z
    .object({
        storePath: absPath.default("/var/lib/matrix-synapse/media").describe("media_store_path."),
        maxUploadSize: size.default("50M").describe("max_upload_size; also nginx client_max_body_size."),
        enableAuthenticatedMedia: z.boolean().default(true).describe("enable_authenticated_media."),
        urlPreviewEnabled: z.boolean().default(false).describe("url_preview_enabled (private ranges always blacklisted)."),
        localMediaLifetime: duration.optional().describe("media_retention.local_media_lifetime."),
        remoteMediaLifetime: duration.optional().describe("media_retention.remote_media_lifetime."),
    })
    .strict()
    .prefault({});

const retentionSchema = z
    .object({
        enabled: z.boolean().default(false).describe("retention.enabled: message retention policies."),
        defaultMaxLifetime: duration.optional().describe("retention.default_policy.max_lifetime."),
        allowedMinLifetime: duration.optional().describe("retention.allowed_lifetime_min."),
        allowedMaxLifetime: duration.optional().describe("retention.allowed_lifetime_max."),
        forgottenRoomRetentionPeriod: duration.optional().describe("forgotten_room_retention_period."),
    })
    .strict()
    .prefault({});

const blockingSchema = z
    .object({
        adminContact: z.string().regex(/^(mailto:[^@\s]+@[^@\s]+|https:\/\/\S+)$/, "must be mailto:user@domain or an https:// URL").optional().describe("admin_contact shown in blocking errors."),
        mauStatsOnly: z.boolean().default(true).describe("mau_stats_only: count monthly active users without limiting them."),
        maxAvatarSize: size.default("10M").describe("max_avatar_size."),
        allowedAvatarMimetypes: z.array(mimeType).default(["image/png", "image/jpeg", "image/gif", "image/webp"]).describe("allowed_avatar_mimetypes."),
    })
    .strict()
    .prefault({});

export const synapseSchema = z
    .object({
        host: z.string().default("main").describe("Name (in `hosts`) of the host that runs Synapse."),
        installMethod: z
            .enum(["apt", "venv"])
            .default("apt")
            .describe("`apt`: matrix-synapse-py3 from the matrix.org repository (the Debian guide). `venv`: Synapse from PyPI in /opt/venvs/matrix-synapse with a hardened systemd unit."),
        version: z.string().regex(/^[0-9]+\.[0-9]+\.[0-9]+$/, "must be a Synapse release such as 1.163.2").default("1.163.2").describe("Synapse release installed by the venv method."),
        listenerPort: port.default(8008).describe("Port of the loopback HTTP listener nginx proxies to."),
        reportStats: z.boolean().default(false).describe("report_stats."),
        presence: z.boolean().default(true).describe("presence.enabled (costly on big servers)."),
        requireAuthForProfileRequests: z.boolean().default(true).describe("require_auth_for_profile_requests."),
        filterTimelineLimit: z.number().int().min(1).max(1000).default(100).describe("filter_timeline_limit."),
        deleteStaleDevicesAfter: duration.optional().describe("delete_stale_devices_after."),
        registration: registrationSchema.describe("Registration policy and settings."),
        consent: consentSchema.describe("Consent tracking (user_consent)."),
        serverNotices: serverNoticesSchema.describe("Server notices."),
        federation: federationSchema.describe("Federation settings."),
        media: mediaSchema.describe("Media store settings."),
        retention: retentionSchema.describe("Message retention settings."),
        blocking: blockingSchema.describe("Homeserver blocking settings."),
        password: passwordSchema.describe("Password policy."),
        extraSettings: z.record(z.string(), z.unknown()).default({}).describe("Any Synapse option, deep-merged last into the conf.d fragment that owns its top-level key (else conf.d/zz-extra.yaml)."),
    })
    .strict()
    .prefault({});

export const databaseSchema = z
    .object({
        host: z.string().default("localhost").describe("Where Synapse reaches Postgres: a host name / address (password auth), or a Unix socket directory (needs a matching pg_hba rule)."),
        port: port.default(5432).describe("Postgres port."),
        name: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a Postgres identifier (lower-case letters, digits, _)").default("synapse").describe("Database name."),
        user: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a Postgres identifier (lower-case letters, digits, _)").default("synapse_user").describe("Role Synapse logs in as."),
        cpMin: z.number().int().min(1).default(5).describe("database.args.cp_min."),
        cpMax: z.number().int().min(1).default(10).describe("database.args.cp_max."),
        adminHost: z.string().optional().describe("Where Pulumi's postgresql provider connects to create the role and database; default: the Synapse host's address."),
        adminPort: port.default(5432).describe("Port for the provider connection."),
        adminUser: z.string().default("postgres").describe("Superuser the provider logs in as (password: secret key `postgresAdminPassword`)."),
        sslmode: z.enum(["disable", "require", "verify-ca", "verify-full"]).default("require").describe("sslmode of the provider connection."),
    })
    .strict()
    .prefault({});

export const emailSchema = z
    .object({
        enabled: z.boolean().default(false).describe("Send email (notifications, password reset)."),
        smtpHost: z.string().optional().describe("smtp_host (required when enabled)."),
        smtpPort: port.default(587).describe("smtp_port."),
        smtpUser: z.string().optional().describe("smtp_user (password: secret key `smtpPassword`)."),
        forceTls: z.boolean().default(false).describe("force_tls (implicit TLS, port 465)."),
        requireTransportSecurity: z.boolean().default(true).describe("require_transport_security (STARTTLS)."),
        notifFrom: z.string().optional().describe("notif_from, e.g. 'Example Chat <noreply@example.org>' (required when enabled)."),
        appName: z.string().default("Matrix").describe("app_name in mails."),
        enableNotifs: z.boolean().default(false).describe("enable_notifs: email notifications of missed messages."),
    })
    .strict()
    .prefault({});

export const releaseSchema = z
    .object({
        database: z.boolean().default(false).describe("true lets `pulumi destroy` drop the Synapse database."),
        signingKey: z.boolean().default(false).describe("true lets `pulumi destroy` delete the signing key file."),
        mediaStore: z.boolean().default(false).describe("true lets `pulumi destroy` delete the media store."),
    })
    .strict()
    .prefault({});

/** Keys whose values must be Pulumi secrets (`pulumi config set --secret`). Not part of the zod object. */
export const SECRET_KEYS = {
    sshPrivateKey: "SSH private key (OpenSSH PEM) used for every host. Required.",
    postgresAdminPassword: "Password of `database.adminUser` for the postgresql provider. Required.",
    smtpPassword: "SMTP password (with `email.smtpUser`).",
    tlsPrivateKey: "TLS private key (PEM) with `proxy.tls: provided`.",
    recaptchaPrivateKey: "reCAPTCHA private key, with `synapse.registration.captchaPublicKey`.",
    ldapBindPassword: "LDAP bind password, with `synapse.registration.ldap.bindDn`.",
    oidcClientSecret: "OIDC client secret, with registration policy `oidc`.",
} as const;
export type SecretKey = keyof typeof SECRET_KEYS;

export const stackConfigSchema = z
    .object({
        matrixDomain: dnsName.describe("The Matrix domain (server_name, in user IDs). Never changes after the first deploy."),
        homeserverDomain: dnsName.describe("FQDN serving the client and federation APIs (e.g. matrix.example.org)."),
        elementDomain: dnsName.describe("FQDN of the Element web client; must differ from the homeserver FQDN."),
        hosts: z.record(z.string().regex(HOST_NAME_RE, "host names must be lower-case letters, digits, '-'"), hostSchema).describe("Hosts by name: `{address, port, user, hostKey}`."),
        adminLocalpart: localpart.default("admin").describe("Localpart of the admin user bootstrapped with the shared secret."),
        synapse: synapseSchema.describe("Synapse settings."),
        database: databaseSchema.describe("Postgres settings."),
        email: emailSchema.describe("Email settings."),
        release: releaseSchema.describe("Explicit release of data-bearing resources on destroy."),
        ...edgeShape,
    })
    .strict()
    .superRefine((c, ctx) => {
        if (c.elementDomain === c.homeserverDomain) {
            ctx.addIssue({ code: "custom", path: ["elementDomain"], message: "must differ from homeserverDomain (the web client must not share an origin with the homeserver)" });
        }
        if (Object.keys(c.hosts).length === 0) {
            ctx.addIssue({ code: "custom", path: ["hosts"], message: "must name at least one host, e.g. {main: {address: 2001:db8::10}}" });
        } else if (!(c.synapse.host in c.hosts)) {
            ctx.addIssue({ code: "custom", path: ["synapse", "host"], message: `must name one of hosts (${Object.keys(c.hosts).join(", ")})` });
        }
        if (c.database.cpMin > c.database.cpMax) {
            ctx.addIssue({ code: "custom", path: ["database", "cpMin"], message: `must not exceed database.cpMax (${c.database.cpMax})` });
        }
        if (!c.database.host.startsWith("/") && !DNS_NAME_RE.test(c.database.host) && isIP(c.database.host) === 0 && c.database.host !== "localhost") {
            ctx.addIssue({ code: "custom", path: ["database", "host"], message: "must be a socket directory like /var/run/postgresql, a DNS name or an IP address" });
        }
        for (const issue of refineOperations(c)) ctx.addIssue({ code: "custom", ...issue });
        if (c.email.enabled) {
            if (!c.email.smtpHost) ctx.addIssue({ code: "custom", path: ["email", "smtpHost"], message: "is required when email.enabled is true" });
            if (!c.email.notifFrom) ctx.addIssue({ code: "custom", path: ["email", "notifFrom"], message: "is required when email.enabled is true, e.g. 'Chat <noreply@example.org>'" });
        }
        if (c.email.forceTls && c.email.smtpPort === 587) {
            ctx.addIssue({ code: "custom", path: ["email", "smtpPort"], message: "587 is the STARTTLS port; with email.forceTls use 465" });
        }
        if (c.synapse.federation.domainWhitelist && !c.synapse.federation.enabled) {
            ctx.addIssue({ code: "custom", path: ["synapse", "federation", "domainWhitelist"], message: "cannot be set while synapse.federation.enabled is false" });
        }
        const r = c.synapse.retention;
        if (!r.enabled && (r.defaultMaxLifetime || r.allowedMinLifetime || r.allowedMaxLifetime)) {
            ctx.addIssue({ code: "custom", path: ["synapse", "retention", "enabled"], message: "must be true when retention lifetimes are set" });
        }
        if (c.proxy.host !== c.synapse.host) {
            // nginx proxies to Synapse's loopback listener: both run on one host for now.
            ctx.addIssue({ code: "custom", path: ["proxy", "host"], message: `must be the Synapse host (${c.synapse.host}): nginx reaches Synapse on loopback` });
        }
        for (const issue of refineEdge(c, undefined)) ctx.addIssue({ code: "custom", ...issue });
        for (const k of ["server_name", "signing_key_path", "database", "registration_shared_secret", "macaroon_secret_key", "form_secret", "modules", "oidc_providers", "recaptcha_private_key"]) {
            if (k in c.synapse.extraSettings) {
                ctx.addIssue({ code: "custom", path: ["synapse", "extraSettings", k], message: "is managed by matrix-maas and cannot be overridden here" });
            }
        }
    });

export type StackConfig = z.output<typeof stackConfigSchema>;
export type StackConfigInput = z.input<typeof stackConfigSchema>;
