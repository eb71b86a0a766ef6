/**
 * Synapse configuration as the Debian guide lays it out: `homeserver.yaml` plus one `conf.d/*.yaml`
 * fragment per concern. Synapse reads `--config-path homeserver.yaml --config-path conf.d/` and
 * merges top-level keys, so each top-level key lives in exactly one fragment; `extraSettings` is
 * deep-merged into the fragment that owns a key (or `zz-extra.yaml` for keys nobody owns).
 */
import { deepMerge, shellQuote, toYaml } from "./format";
import { RenderedFile } from "./types";

/**
 * Private, loopback, link-local, documentation, multicast and other reserved ranges (IPv4 and IPv6).
 * Synapse must never fetch URLs or federate into them (SSRF).
 */
export const RESERVED_IP_RANGES: readonly string[] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "::/128",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
];

/** Plain, fully resolved settings for one homeserver. */
export interface SynapseSettings {
    serverName: string;
    publicBaseurl: string;
    /** Directory holding homeserver.yaml and conf.d/. */
    configDir: string;
    /** Service user and group (Debian package: matrix-synapse). */
    user: string;
    group: string;
    dataDir: string;
    logDir: string;
    pidFile: string;
    signingKeyPath: string;
    listener: { port: number; bindAddresses: string[] };
    /** More listeners on the main process (e.g. the workers' replication listener). Default []. */
    extraListeners?: Record<string, unknown>[];
    /**
     * Main-process settings for workers (instance_map, stream_writers, redis, *_instances, ...),
     * rendered into conf.d/workers.yaml with worker_replication_secret. Default: none (monolith).
     */
    workers?: Record<string, unknown>;
    database: { host: string; port: number; name: string; user: string; cpMin: number; cpMax: number };
    reportStats: boolean;
    presence: boolean;
    requireAuthForProfileRequests: boolean;
    filterTimelineLimit: number;
    deleteStaleDevicesAfter?: string;
    registration: SynapseRegistration;
    consent: SynapseConsent;
    serverNotices: SynapseServerNotices;
    federation: {
        enabled: boolean;
        domainWhitelist?: string[];
        allowPublicRoomsOverFederation: boolean;
        limitRemoteRoomsComplexity?: number;
        extraIpRangeBlacklist: string[];
    };
    media: {
        storePath: string;
        maxUploadSize: string | number;
        enableAuthenticatedMedia: boolean;
        urlPreviewEnabled: boolean;
        localMediaLifetime?: string;
        remoteMediaLifetime?: string;
    };
    retention: {
        enabled: boolean;
        defaultMaxLifetime?: string;
        allowedMinLifetime?: string;
        allowedMaxLifetime?: string;
        forgottenRoomRetentionPeriod?: string;
    };
    blocking: { adminContact?: string; mauStatsOnly: boolean; maxAvatarSize: string | number; allowedAvatarMimetypes: string[] };
    password: {
        minimumLength: number;
        requireDigit: boolean;
        requireSymbol: boolean;
        requireLowercase: boolean;
        requireUppercase: boolean;
        localdbEnabled: boolean;
    };
    email?: {
        smtpHost: string;
        smtpPort: number;
        smtpUser?: string;
        forceTls: boolean;
        requireTransportSecurity: boolean;
        notifFrom: string;
        appName: string;
        enableNotifs: boolean;
    };
    /** Absolute paths of appservice registration files (app_service_config_files). Default []. */
    appServiceConfigFiles?: string[];
    /** TURN relay Synapse hands out credentials for (turn_uris etc.); none when undefined. */
    turn?: { uris: string[]; userLifetime: string; allowGuests: boolean };
    /** Deep-merged last into the fragment owning each top-level key. */
    extraSettings: Record<string, unknown>;
}

export interface SynapseRegistration {
    policy: "closed" | "open" | "email-pattern" | "token" | "ldap" | "oidc";
    requireEmailVerification: boolean;
    captchaPublicKey?: string;
    acknowledgeOpenRegistrationWithoutVerification: boolean;
    allowedEmailPatterns: string[];
    ldap?: { uris: string[]; startTls: boolean; base: string; uidAttribute: string; mailAttribute: string; nameAttribute: string; filter?: string; bindDn?: string };
    oidc?: {
        idpId: string;
        idpName: string;
        issuer: string;
        clientId: string;
        scopes: string[];
        localpartTemplate: string;
        displayNameTemplate: string;
        allowExistingUsers: boolean;
    };
    allowGuests: boolean;
    enableSetDisplayname: boolean;
    enable3pidChanges: boolean;
    autoJoinRooms: string[];
}

export interface SynapseConsent {
    enabled: boolean;
    version: string;
    policyName: string;
    policyHtml: string;
    successHtml: string;
    serverNoticeContent?: string;
    blockEventsError?: string;
    requireAtRegistration: boolean;
}

export interface SynapseServerNotices {
    enabled: boolean;
    localpart: string;
    displayName: string;
    roomName: string;
    roomTopic?: string;
    autoJoin: boolean;
}

/** Secret values, resolved. Files containing any of them are marked secret. */
export interface SynapseSecrets {
    registrationSharedSecret: string;
    macaroonSecretKey: string;
    formSecret: string;
    passwordPepper: string;
    databasePassword: string;
    smtpPassword?: string;
    /** coturn static-auth-secret (= turn_shared_secret). */
    turnSharedSecret?: string;
    /** worker_replication_secret, with workers. */
    workerReplicationSecret?: string;
    /** reCAPTCHA private key (open registration with captcha). */
    recaptchaPrivateKey?: string;
    /** LDAP bind password (ldap policy, search mode). */
    ldapBindPassword?: string;
    /** OIDC client secret (oidc policy). */
    oidcClientSecret?: string;
}

interface Fragment {
    name: string;
    body: Record<string, unknown>;
    secret: boolean;
}

function definedOnly(o: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The Python logging config: a rotating file plus the console, which systemd sends to journald. */
export function renderSynapseLogConfig(s: SynapseSettings): Record<string, unknown> {
    return {
        version: 1,
        formatters: {
            precise: { format: "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s" },
            journal: { format: "%(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s" },
        },
        handlers: {
            file: {
                class: "logging.handlers.TimedRotatingFileHandler",
                formatter: "precise",
                filename: `${s.logDir}/homeserver.log`,
                when: "midnight",
                backupCount: 7,
                encoding: "utf8",
            },
            // Under systemd, stderr goes to the journal: no python-systemd dependency needed.
            journal: { class: "logging.StreamHandler", formatter: "journal", stream: "ext://sys.stderr" },
        },
        loggers: {
            synapse: { level: "INFO" },
            "synapse.storage.SQL": { level: "WARNING" },
        },
        root: { level: "INFO", handlers: ["file", "journal"] },
        disable_existing_loggers: false,
    };
}

function fragments(s: SynapseSettings, x: SynapseSecrets): Fragment[] {
    const db = s.database;
    const fed = s.federation;
    const reg = s.registration;
    const ipBlacklist = [...RESERVED_IP_RANGES, ...fed.extraIpRangeBlacklist];
    const frags: Fragment[] = [
        { name: "server_name", secret: false, body: { server_name: s.serverName, public_baseurl: s.publicBaseurl } },
        { name: "report_stats", secret: false, body: { report_stats: s.reportStats } },
        {
            name: "listeners",
            secret: false,
            body: {
                listeners: [
                    {
                        port: s.listener.port,
                        tls: false,
                        type: "http",
                        x_forwarded: true,
                        bind_addresses: s.listener.bindAddresses,
                        resources: [{ names: s.consent.enabled ? ["client", "consent", "federation"] : ["client", "federation"], compress: false }],
                    },
                    ...(s.extraListeners ?? []),
                ],
            },
        },
        {
            name: "database",
            secret: true,
            body: {
                database: {
                    name: "psycopg2",
                    args: {
                        user: db.user,
                        password: x.databasePassword,
                        dbname: db.name,
                        host: db.host,
                        port: db.port,
                        cp_min: db.cpMin,
                        cp_max: db.cpMax,
                        keepalives_idle: 10,
                        keepalives_interval: 10,
                        keepalives_count: 3,
                    },
                },
            },
        },
        {
            name: "keys",
            secret: true,
            body: {
                registration_shared_secret: x.registrationSharedSecret,
                macaroon_secret_key: x.macaroonSecretKey,
                form_secret: x.formSecret,
                ...(reg.policy === "open" && reg.captchaPublicKey && x.recaptchaPrivateKey ? { recaptcha_private_key: x.recaptchaPrivateKey } : {}),
                signing_key_path: s.signingKeyPath,
                // Key id, not the key: the default notary is matrix.org.
                trusted_key_servers: [{ server_name: "matrix.org" }],
                suppress_key_server_warning: true,
            },
        },
        { name: "logging", secret: false, body: { log_config: `${s.configDir}/log.yaml` } },
        {
            name: "mediastore",
            secret: false,
            body: definedOnly({
                media_store_path: s.media.storePath,
                enable_authenticated_media: s.media.enableAuthenticatedMedia,
                max_upload_size: s.media.maxUploadSize,
                url_preview_enabled: s.media.urlPreviewEnabled,
                url_preview_ip_range_blacklist: [...ipBlacklist],
                media_retention:
                    s.media.localMediaLifetime || s.media.remoteMediaLifetime
                        ? definedOnly({ local_media_lifetime: s.media.localMediaLifetime, remote_media_lifetime: s.media.remoteMediaLifetime })
                        : undefined,
            }),
        },
        {
            name: "homeserver_blocking",
            secret: false,
            body: definedOnly({
                admin_contact: s.blocking.adminContact,
                mau_stats_only: s.blocking.mauStatsOnly,
                max_avatar_size: s.blocking.maxAvatarSize,
                allowed_avatar_mimetypes: s.blocking.allowedAvatarMimetypes,
                forgotten_room_retention_period: s.retention.forgottenRoomRetentionPeriod,
            }),
        },
        {
            name: "authentication",
            secret: true,
            body: {
                password_config: {
                    enabled: true,
                    // LDAP users authenticate against the directory only.
                    localdb_enabled: reg.policy === "ldap" ? false : s.password.localdbEnabled,
                    pepper: x.passwordPepper,
                    policy: {
                        enabled: true,
                        minimum_length: s.password.minimumLength,
                        require_digit: s.password.requireDigit,
                        require_symbol: s.password.requireSymbol,
                        require_lowercase: s.password.requireLowercase,
                        require_uppercase: s.password.requireUppercase,
                    },
                },
            },
        },
        {
            name: "registration",
            secret: false,
            body: renderRegistration(reg),
        },
        {
            name: "server",
            secret: false,
            body: definedOnly({
                pid_file: s.pidFile,
                presence: { enabled: s.presence },
                require_auth_for_profile_requests: s.requireAuthForProfileRequests,
                limit_profile_requests_to_users_who_share_rooms: s.requireAuthForProfileRequests,
                ip_range_blacklist: ipBlacklist,
                filter_timeline_limit: s.filterTimelineLimit,
                delete_stale_devices_after: s.deleteStaleDevicesAfter,
            }),
        },
        {
            name: "federation",
            secret: false,
            body: definedOnly({
                // An empty whitelist is Synapse's way of turning federation off.
                federation_domain_whitelist: fed.enabled ? fed.domainWhitelist : [],
                allow_public_rooms_over_federation: fed.enabled && fed.allowPublicRoomsOverFederation,
                limit_remote_rooms:
                    fed.limitRemoteRoomsComplexity !== undefined
                        ? { enabled: true, complexity: fed.limitRemoteRoomsComplexity, admins_can_join: true }
                        : undefined,
            }),
        },
        {
            name: "retention",
            secret: false,
            body: {
                retention: s.retention.enabled
                    ? definedOnly({
                          enabled: true,
                          default_policy: s.retention.defaultMaxLifetime ? { min_lifetime: "1d", max_lifetime: s.retention.defaultMaxLifetime } : undefined,
                          allowed_lifetime_min: s.retention.allowedMinLifetime,
                          allowed_lifetime_max: s.retention.allowedMaxLifetime,
                      })
                    : { enabled: false },
            },
        },
    ];
    frags.push({
        name: "modules",
        secret: true,
        body:
            reg.policy === "ldap" && reg.ldap
                ? {
                      modules: [
                          {
                              module: "ldap_auth_provider.LdapAuthProviderModule",
                              config: definedOnly({
                                  enabled: true,
                                  uri: reg.ldap.uris,
                                  start_tls: reg.ldap.startTls,
                                  base: reg.ldap.base,
                                  attributes: { uid: reg.ldap.uidAttribute, mail: reg.ldap.mailAttribute, name: reg.ldap.nameAttribute },
                                  filter: reg.ldap.filter,
                                  bind_dn: reg.ldap.bindDn,
                                  bind_password: reg.ldap.bindDn ? x.ldapBindPassword : undefined,
                              }),
                          },
                      ],
                  }
                : {},
    });
    frags.push({
        name: "sso",
        secret: true,
        body:
            reg.policy === "oidc" && reg.oidc
                ? {
                      oidc_providers: [
                          {
                              idp_id: reg.oidc.idpId,
                              idp_name: reg.oidc.idpName,
                              issuer: reg.oidc.issuer,
                              client_id: reg.oidc.clientId,
                              client_secret: x.oidcClientSecret,
                              scopes: reg.oidc.scopes,
                              allow_existing_users: reg.oidc.allowExistingUsers,
                              user_mapping_provider: { config: { localpart_template: reg.oidc.localpartTemplate, display_name_template: reg.oidc.displayNameTemplate } },
                          },
                      ],
                  }
                : {},
    });
    const consent = s.consent;
    frags.push({
        name: "consent",
        secret: false,
        body: consent.enabled
            ? {
                  user_consent: definedOnly({
                      template_dir: `${s.configDir}/consent`,
                      version: consent.version,
                      policy_name: consent.policyName,
                      require_at_registration: consent.requireAtRegistration,
                      send_server_notice_to_guests: false,
                      server_notice_content: consent.serverNoticeContent ? { msgtype: "m.text", body: consent.serverNoticeContent } : undefined,
                      block_events_error: consent.blockEventsError ?? "To continue using this homeserver you must review and agree to the terms and conditions at %(consent_uri)s",
                  }),
              }
            : {},
    });
    const notices = s.serverNotices;
    frags.push({
        name: "server_notices",
        secret: false,
        body: notices.enabled
            ? {
                  server_notices: definedOnly({
                      system_mxid_localpart: notices.localpart,
                      system_mxid_display_name: notices.displayName,
                      room_name: notices.roomName,
                      room_topic: notices.roomTopic,
                      auto_join: notices.autoJoin,
                  }),
              }
            : {},
    });
    frags.push({
        name: "workers",
        secret: true,
        body: s.workers ? { ...s.workers, ...(x.workerReplicationSecret ? { worker_replication_secret: x.workerReplicationSecret } : {}) } : {},
    });
    frags.push({
        name: "appservices",
        secret: false,
        body: { app_service_config_files: [...(s.appServiceConfigFiles ?? [])].sort() },
    });
    frags.push({
        name: "turn",
        secret: true,
        body:
            s.turn && x.turnSharedSecret
                ? {
                      turn_uris: s.turn.uris,
                      turn_shared_secret: x.turnSharedSecret,
                      turn_user_lifetime: s.turn.userLifetime,
                      turn_allow_guests: s.turn.allowGuests,
                  }
                : {},
    });
    const e = s.email;
    frags.push({
        name: "email",
        secret: true,
        body: e
            ? {
                  email: definedOnly({
                      smtp_host: e.smtpHost,
                      smtp_port: e.smtpPort,
                      smtp_user: e.smtpUser,
                      smtp_pass: x.smtpPassword,
                      force_tls: e.forceTls,
                      require_transport_security: e.requireTransportSecurity,
                      notif_from: e.notifFrom,
                      app_name: e.appName,
                      enable_notifs: e.enableNotifs,
                      notif_for_new_users: e.enableNotifs,
                      client_base_url: s.publicBaseurl,
                  }),
              }
            : {},
    });
    return frags;
}

/** The registration fragment for one policy. */
function renderRegistration(reg: SynapseRegistration): Record<string, unknown> {
    const open = reg.policy === "open";
    const needsEmail = reg.policy === "email-pattern" || (open && reg.requireEmailVerification);
    const captcha = open && reg.captchaPublicKey !== undefined;
    return definedOnly({
        enable_registration: open || reg.policy === "email-pattern" || reg.policy === "token",
        enable_registration_without_verification: open && !captcha && !reg.requireEmailVerification && reg.acknowledgeOpenRegistrationWithoutVerification,
        registration_requires_token: reg.policy === "token",
        registrations_require_3pid: needsEmail ? ["email"] : undefined,
        allowed_local_3pids: reg.policy === "email-pattern" ? reg.allowedEmailPatterns.map((pattern) => ({ medium: "email", pattern })) : undefined,
        enable_registration_captcha: captcha ? true : undefined,
        recaptcha_public_key: captcha ? reg.captchaPublicKey : undefined,
        allow_guest_access: reg.allowGuests,
        enable_set_displayname: reg.enableSetDisplayname,
        // Directory users cannot change their addresses here.
        enable_3pid_changes: reg.policy === "ldap" ? false : reg.enable3pidChanges,
        auto_join_rooms: reg.autoJoinRooms,
        autocreate_auto_join_rooms: reg.autoJoinRooms.length > 0,
    });
}

/** Consent templates: the stack's policy text wrapped with Synapse's accept form (Jinja2). */
export function renderConsentTemplates(s: Pick<SynapseSettings, "configDir" | "consent" | "group">): RenderedFile[] {
    if (!s.consent.enabled) return [];
    const c = s.consent;
    // The stack's HTML is literal text for Jinja2: {% raw %} keeps any braces in it inert.
    const policy = [
        "<!doctype html>",
        "<html><head><meta charset=\"utf-8\"><title>{{ version }}</title></head><body>",
        "{% raw %}",
        c.policyHtml,
        "{% endraw %}",
        "{% if has_consented %}<p>You have already accepted this version.</p>",
        "{% elif not public_version %}",
        "<form method=\"post\" action=\"consent\">",
        "<input type=\"hidden\" name=\"v\" value=\"{{ version }}\"/>",
        "<input type=\"hidden\" name=\"u\" value=\"{{ user }}\"/>",
        "<input type=\"hidden\" name=\"h\" value=\"{{ userhmac }}\"/>",
        "<input type=\"submit\" value=\"I accept\"/>",
        "</form>",
        "{% endif %}",
        "</body></html>",
        "",
    ].join("\n");
    const success = ["<!doctype html>", "<html><head><meta charset=\"utf-8\"></head><body>", "{% raw %}", c.successHtml, "{% endraw %}", "</body></html>", ""].join("\n");
    const file = (path: string, content: string): RenderedFile => ({ path, content, mode: "0644", owner: "root", group: s.group, secret: false });
    return [file(`${s.configDir}/consent/en/${c.version}.html`, policy), file(`${s.configDir}/consent/en/success.html`, success)];
}

/** Apply extraSettings: deep-merge each top-level key into its owning fragment, else into zz-extra. */
function applyExtra(frags: Fragment[], extra: Record<string, unknown>): Fragment[] {
    const leftover: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(extra)) {
        const owner = frags.find((f) => key in f.body);
        if (owner) owner.body = deepMerge(owner.body, { [key]: value });
        else leftover[key] = value;
    }
    // Always present (possibly empty) so the set of files never depends on settings.
    frags.push({ name: "zz-extra", secret: false, body: leftover });
    return frags;
}

/**
 * Which conf.d fragments exist and whether each holds a secret. Static, so a component can create
 * one resource per file before any value is known; renderSynapseConfig checks it agrees.
 */
export const SYNAPSE_FRAGMENTS: Readonly<Record<string, boolean>> = {
    server_name: false,
    report_stats: false,
    listeners: false,
    database: true,
    keys: true,
    logging: false,
    mediastore: false,
    homeserver_blocking: false,
    authentication: true,
    registration: false,
    server: false,
    federation: false,
    retention: false,
    email: true,
    appservices: false,
    workers: true,
    modules: true,
    sso: true,
    consent: false,
    server_notices: false,
    turn: true,
    "zz-extra": false,
};

/** Placeholder secrets: rendering with them yields the file list without any secret value. */
const MANIFEST_SECRETS: SynapseSecrets = {
    registrationSharedSecret: "-",
    macaroonSecretKey: "-",
    formSecret: "-",
    passwordPepper: "-",
    databasePassword: "-",
};

/** Paths, modes and secrecy of every Synapse file, known from the settings before secrets resolve. */
export function synapseFileManifest(s: SynapseSettings): Omit<RenderedFile, "content">[] {
    return renderSynapseConfig(s, MANIFEST_SECRETS).map(({ content: _content, ...meta }) => meta);
}

/**
 * Render every Synapse config file for one homeserver. Secret files are `root:<group>` 0640; the
 * rest `root:<group>` 0644. Same input, same bytes.
 */
export function renderSynapseConfig(s: SynapseSettings, secrets: SynapseSecrets): RenderedFile[] {
    const frags = applyExtra(fragments(s, secrets), s.extraSettings);
    for (const f of frags) {
        if (SYNAPSE_FRAGMENTS[f.name] !== f.secret) throw new Error(`internal: fragment ${f.name} disagrees with SYNAPSE_FRAGMENTS`);
    }
    const file = (path: string, body: unknown, secret: boolean): RenderedFile => ({
        path,
        content: toYaml(body),
        mode: secret ? "0640" : "0644",
        owner: "root",
        group: s.group,
        secret,
    });
    return [
        // homeserver.yaml stays minimal: it replaces the Debian package's default (SQLite) file.
        file(`${s.configDir}/homeserver.yaml`, { server_name: s.serverName }, false),
        file(`${s.configDir}/log.yaml`, renderSynapseLogConfig(s), false),
        ...frags.map((f) => file(`${s.configDir}/conf.d/${f.name}.yaml`, f.body, f.secret)),
        ...renderConsentTemplates(s),
    ].sort((a, b) => a.path.localeCompare(b.path));
}

/** The config paths Synapse must be started with (in this order). */
export function synapseConfigPaths(s: Pick<SynapseSettings, "configDir">): string[] {
    return [`${s.configDir}/homeserver.yaml`, `${s.configDir}/conf.d/`];
}

/** The file `register_new_matrix_user -c` reads the shared secret from. */
export function synapseKeysFile(s: Pick<SynapseSettings, "configDir">): string {
    return `${s.configDir}/conf.d/keys.yaml`;
}

/**
 * The bash command that registers a user with the shared secret: register_new_matrix_user reads
 * the secret from conf.d/keys.yaml and the password from the command's stdin (through a pipe made
 * by process substitution: /dev/stdin itself cannot be opened when stdin is a socket).
 */
export function registerUserCommand(o: { registerBin?: string; user: string; admin: boolean; keysFile: string; baseUrl: string }): string {
    return [
        o.registerBin ?? "register_new_matrix_user",
        "--exists-ok",
        "-u",
        shellQuote(o.user),
        o.admin ? "-a" : "--no-admin",
        "-c",
        shellQuote(o.keysFile),
        "--password-file",
        "<(cat)",
        shellQuote(o.baseUrl),
    ].join(" ");
}

/** Where the Homeserver writes the registration of appservice `id`. */
export function appServiceRegistrationPath(configDir: string, id: string): string {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(id)) throw new Error(`appservice id must be lower-case letters, digits, '-' or '_', got ${JSON.stringify(id)}`);
    return `${configDir}/appservices/${id}.yaml`;
}
