/**
 * Homeserver: Synapse on a Debian host, its Postgres role + database, generated secrets, the
 * ed25519 signing key, the conf.d files, the systemd service and the bootstrapped admin user.
 */
import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { remote } from "@pulumi/command";
import { z } from "zod";
import { TOKENS } from "../tokens";
import { databaseSchema, emailSchema, synapseSchema, dnsName } from "../config/schema";
import {
    DEBIAN_SYNAPSE_LAYOUT,
    renderSigningKey,
    renderSynapseConfig,
    resolveSynapseSettings,
    shellQuote,
    SynapseSecrets,
    synapseFileManifest,
    synapseKeysFile,
    registerUserCommand,
    appServiceRegistrationPath,
    renderSynapseUnit,
    renderSynapseVenvInstallScript,
    SYNAPSE_INSTALL_METHODS,
    SYNAPSE_VENV_BUILD_PACKAGES,
    SYNAPSE_VENV_DIR,
} from "../render";
import { Packages, RemoteFile, rootScript, Service, sshConnection, SshHostArgs } from "../host";

/** The matrix.org apt repository that ships matrix-synapse-py3 (the Debian guide's method). */
export const MATRIX_ORG_APT_REPOSITORY = {
    name: "matrix-org",
    uri: "https://packages.matrix.org/debian/",
    components: ["main"],
    keyringUrl: "https://packages.matrix.org/debian/matrix-org-archive-keyring.gpg",
} as const;

/** What `pulumi destroy` may delete. Everything defaults to false: data survives. */
export interface HomeserverReleaseArgs {
    /** Drop the Synapse database (and role) on destroy. Default false. */
    database?: boolean;
    /** Delete the signing key file on destroy. Default false. */
    signingKey?: boolean;
    /** Delete the media store on destroy. Default false. */
    mediaStore?: boolean;
}

/** The TURN relay Synapse gives clients credentials for. */
export interface HomeserverTurnArgs {
    /** turn_uris, e.g. `turn:turn.example.org:3478?transport=udp`. */
    uris: pulumi.Input<pulumi.Input<string>[]>;
    /** turn_shared_secret = coturn's static-auth-secret (secret). */
    sharedSecret: pulumi.Input<string>;
    /** turn_user_lifetime. Default "1h". */
    userLifetime?: string;
    /** turn_allow_guests. Default true. */
    allowGuests?: boolean;
}

/** An appservice (bridge, bot) registered with Synapse. */
export interface HomeserverAppServiceArgs {
    /** Registration id (file name and `id:` in the YAML), e.g. "whatsapp". */
    id: string;
    /** The registration YAML (holds as_token/hs_token: secret). */
    registration: pulumi.Input<string>;
}

export interface HomeserverArgs {
    /** The Matrix domain (server_name). Never changes after the first deploy. */
    serverName: string;
    /** FQDN of the client/federation APIs; public_baseurl is `https://<homeserverDomain>/`. */
    homeserverDomain: string;
    /** Host that runs Synapse. */
    host: SshHostArgs;
    /**
     * Synapse options (see the README table under `synapse.*`): registration, federation, media,
     * retention, blocking, password policy, `extraSettings` deep-merged last. Default: secure defaults.
     */
    synapse?: z.input<typeof synapseSchema>;
    /** Postgres options (`database.*`). Default: local Postgres via localhost, db `synapse`. */
    database?: z.input<typeof databaseSchema>;
    /** Email options (`email.*`). Default: disabled. */
    email?: z.input<typeof emailSchema>;
    /** SMTP password, when email.smtpUser is set. Kept secret. Default: none. */
    smtpPassword?: pulumi.Input<string>;
    /** reCAPTCHA private key (open registration with captcha). Kept secret. Default: none. */
    recaptchaPrivateKey?: pulumi.Input<string>;
    /** LDAP bind password (ldap policy with bindDn). Kept secret. Default: none. */
    ldapBindPassword?: pulumi.Input<string>;
    /** OIDC client secret (oidc policy). Kept secret. Default: none. */
    oidcClientSecret?: pulumi.Input<string>;
    /** TURN relay for VoIP. Default: none (no turn_uris). */
    turn?: HomeserverTurnArgs;
    /**
     * Appservice registrations: written to `<configDir>/appservices/<id>.yaml` (0640) and listed in
     * app_service_config_files; Synapse restarts once when any of them changes. Default [].
     */
    appServices?: HomeserverAppServiceArgs[];
    /** Localpart of the admin user created with the shared secret. Default "admin". */
    adminLocalpart?: string;
    /** Install Debian's postgresql on the host too. Default true when database.host is local. */
    installPostgres?: boolean;
    /** What destroy may delete. Default: nothing that holds data. */
    release?: HomeserverReleaseArgs;
    /**
     * Providers by package name; `postgresql` is the provider that creates the role and database.
     * Default: the ambient provider configuration.
     */
    providers?: { postgresql?: postgresql.Provider };
}

function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string, res: pulumi.Resource): z.output<T> {
    const r = schema.safeParse(value ?? {});
    if (!r.success) {
        const msgs = r.error.issues.map((i) => `${what}${i.path.length ? "." + i.path.join(".") : ""}: ${i.message}`);
        throw new pulumi.ResourceError(`Homeserver: ${msgs.join("; ")}`, res);
    }
    return r.data;
}

const LOCAL_DB_HOSTS = new Set(["localhost", "127.0.0.1", "::1"]);

export class Homeserver extends pulumi.ComponentResource {
    /** Full admin user id, e.g. `@admin:example.org`. */
    public readonly adminUserId: pulumi.Output<string>;
    /** Generated admin password (secret). */
    public readonly adminPassword: pulumi.Output<string>;
    /** registration_shared_secret (secret). */
    public readonly registrationSharedSecret: pulumi.Output<string>;
    /** Public signing key id, `ed25519:a_XXXX`. */
    public readonly signingKeyId: pulumi.Output<string>;
    /** `https://<homeserverDomain>/`. */
    public readonly publicBaseUrl: pulumi.Output<string>;
    /** Loopback port of the Synapse HTTP listener (for the reverse proxy). */
    public readonly listenerPort: pulumi.Output<number>;

    constructor(name: string, args: HomeserverArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TOKENS.Homeserver, name, {}, opts);
        for (const [k, v] of [["serverName", args.serverName], ["homeserverDomain", args.homeserverDomain]] as const) {
            if (!dnsName.safeParse(v).success) throw new pulumi.ResourceError(`Homeserver: ${k} must be a lower-case DNS name, got ${JSON.stringify(v)}`, this);
        }
        const synapseOpts = parseOrThrow(synapseSchema, args.synapse, "synapse", this);
        const dbOpts = parseOrThrow(databaseSchema, args.database, "database", this);
        const emailOpts = parseOrThrow(emailSchema, args.email, "email", this);
        if (dbOpts.cpMin > dbOpts.cpMax) throw new pulumi.ResourceError("Homeserver: database.cpMin must not exceed database.cpMax", this);
        const adminLocalpart = args.adminLocalpart ?? "admin";
        const release = { database: false, signingKey: false, mediaStore: false, ...args.release };
        const installPostgres = args.installPostgres ?? (LOCAL_DB_HOSTS.has(dbOpts.host) || dbOpts.host.startsWith("/"));
        const layout = DEBIAN_SYNAPSE_LAYOUT;
        const settings = resolveSynapseSettings({
            serverName: args.serverName,
            homeserverDomain: args.homeserverDomain,
            synapse: synapseOpts,
            database: dbOpts,
            email: emailOpts,
            layout,
        });
        const child = { parent: this };
        const host = args.host;

        // Secrets. Explicitly wrapped: the engine marks `result` secret, but say it here too.
        const password = (role: string, length: number, special = false) =>
            pulumi.secret(new random.RandomPassword(`${name}-${role}`, { length, special }, child).result);
        const registrationSharedSecret = password("registration-shared-secret", 64);
        const macaroonSecretKey = password("macaroon-secret-key", 64);
        const formSecret = password("form-secret", 64);
        const passwordPepper = password("password-pepper", 32);
        const databasePassword = password("database-password", 40);
        const adminPassword = password("admin-password", 32);

        // Signing key: ed25519 from @pulumi/tls, id a_ + 4 alphanumerics. Both survive destroy.
        const keepKey = { ...child, retainOnDelete: !release.signingKey };
        const keyIdSuffix = new random.RandomString(`${name}-signing-key-id`, { length: 4, special: false }, keepKey);
        const signingKey = new tls.PrivateKey(`${name}-signing-key`, { algorithm: "ED25519" }, keepKey);
        const keyId = keyIdSuffix.result.apply((s) => `a_${s}`);
        const signingKeyFile = pulumi.secret(pulumi.all([signingKey.privateKeyPemPkcs8, keyId]).apply(([pem, id]) => renderSigningKey(pem, id)));

        // Postgres role + database: UTF8, C collation, from template0 (Synapse refuses anything else).
        const pgOpts = { ...child, provider: args.providers?.postgresql, retainOnDelete: !release.database };
        const role = new postgresql.Role(`${name}-db-role`, { name: dbOpts.user, login: true, password: databasePassword }, pgOpts);
        const database = new postgresql.Database(
            `${name}-db`,
            {
                name: dbOpts.name,
                owner: role.name,
                encoding: "UTF8",
                lcCollate: "C",
                lcCtype: "C",
                template: "template0",
                allowConnections: true,
            },
            pgOpts,
        );

        // Packages: Synapse from matrix.org's repository (debconf answers preseeded), Postgres when local.
        // Install: the Debian package from matrix.org, or a PyPI venv with our own unit. Both give
        // the same paths, user and service name, so everything below is shared.
        const venv = synapseOpts.installMethod === SYNAPSE_INSTALL_METHODS.venv;
        const postgresPackages = installPostgres ? ["postgresql"] : [];
        const packages: pulumi.Resource = venv
            ? new remote.Command(
                  `${name}-synapse-venv`,
                  {
                      connection: sshConnection(host),
                      create: rootScript(
                          host,
                          renderSynapseVenvInstallScript({
                              version: synapseOpts.version,
                              user: layout.user,
                              group: layout.group,
                              dirs: [layout.dataDir, layout.logDir],
                              configDir: layout.configDir,
                          }),
                      ),
                      triggers: ["synapse-venv", synapseOpts.version],
                      logging: "stderr",
                  },
                  { ...child, dependsOn: [new Packages(`${name}-packages`, { host, packages: [...SYNAPSE_VENV_BUILD_PACKAGES, ...postgresPackages] }, child)] },
              )
            : new Packages(
                  `${name}-packages`,
                  {
                      host,
                      packages: ["matrix-synapse-py3", ...postgresPackages],
                      repositories: [{ ...MATRIX_ORG_APT_REPOSITORY, components: [...MATRIX_ORG_APT_REPOSITORY.components] }],
                      debconf: [`matrix-synapse matrix-synapse/server-name string ${args.serverName}`, `matrix-synapse matrix-synapse/report-stats boolean ${settings.reportStats}`],
                  },
                  child,
              );
        const unitFile = venv
            ? (() => {
                  const unit = renderSynapseUnit(settings);
                  return new RemoteFile(`${name}-unit`, { host, path: unit.path, content: unit.content, owner: unit.owner, group: unit.group, mode: unit.mode }, { ...child, dependsOn: [packages] });
              })()
            : undefined;

        // Media store directory: data, kept on destroy unless released.
        const mediaPath = shellQuote(settings.media.storePath);
        const mediaStore = new remote.Command(
            `${name}-media-store`,
            {
                connection: sshConnection(host),
                create: rootScript(host, `install -d -o ${layout.user} -g ${layout.group} -m 0750 ${mediaPath}`),
                delete: rootScript(host, `rm -rf --one-file-system ${mediaPath}`),
                triggers: [settings.media.storePath],
            },
            { ...child, dependsOn: [packages], retainOnDelete: !release.mediaStore },
        );

        // Config files: one resource per file; contents rendered once all secrets resolve.
        const secretInputs: Record<keyof SynapseSecrets, pulumi.Input<string | undefined>> = {
            registrationSharedSecret,
            macaroonSecretKey,
            formSecret,
            passwordPepper,
            databasePassword,
            smtpPassword: pulumi.output(args.smtpPassword),
            turnSharedSecret: pulumi.output(args.turn?.sharedSecret),
            recaptchaPrivateKey: pulumi.output(args.recaptchaPrivateKey),
            ldapBindPassword: pulumi.output(args.ldapBindPassword),
            oidcClientSecret: pulumi.output(args.oidcClientSecret),
            workerReplicationSecret: undefined,
        };
        // Every required secret is a RandomPassword above, so the undefined ones are the optional keys.
        const secrets = pulumi.all(secretInputs) as unknown as pulumi.Output<SynapseSecrets>;
        const appServices = args.appServices ?? [];
        const ids = appServices.map((a) => a.id);
        if (new Set(ids).size !== ids.length) throw new pulumi.ResourceError(`Homeserver: appservice ids must be unique, got ${ids.join(", ")}`, this);
        let appServiceConfigFiles: string[];
        try {
            appServiceConfigFiles = appServices.map((a) => appServiceRegistrationPath(layout.configDir, a.id));
        } catch (e) {
            throw new pulumi.ResourceError(`Homeserver: ${(e as Error).message}`, this);
        }
        const turnUris = args.turn ? pulumi.output(args.turn.uris) : pulumi.output(undefined);
        const turnPolicy = args.turn ? { userLifetime: args.turn.userLifetime ?? "1h", allowGuests: args.turn.allowGuests ?? true } : undefined;
        const rendered = pulumi
            .all([secrets, turnUris])
            .apply(([x, uris]) => renderSynapseConfig({ ...settings, appServiceConfigFiles, turn: uris && turnPolicy ? { uris: [...uris], ...turnPolicy } : undefined }, x));
        const files = synapseFileManifest(settings).map((f) => {
            const role = f.path.slice(layout.configDir.length + 1).replace(/\.yaml$/, "").replace(/[/_.]/g, "-");
            const content = rendered.apply((all) => {
                const found = all.find((r) => r.path === f.path);
                if (!found) throw new Error(`internal: ${f.path} not rendered`);
                return found.content;
            });
            return new RemoteFile(
                `${name}-config-${role}`,
                // Non-secret files hold no secret values (the render tests prove it), so unwrap them.
                { host, path: f.path, content: f.secret ? content : pulumi.unsecret(content), owner: f.owner, group: f.group, mode: f.mode, secret: f.secret },
                { ...child, dependsOn: [packages] },
            );
        });
        const keyFile = new RemoteFile(
            `${name}-signing-key-file`,
            // Without a delete command, destroy leaves the key on the host unless released.
            { host, path: settings.signingKeyPath, content: signingKeyFile, owner: "root", group: layout.group, mode: "0640", secret: true, deleteOnDestroy: release.signingKey },
            { ...child, dependsOn: [packages], retainOnDelete: !release.signingKey },
        );

        const registrations = appServices.map(
            (a, i) =>
                new RemoteFile(
                    `${name}-appservice-${a.id}`,
                    { host, path: appServiceConfigFiles[i], content: a.registration, owner: "root", group: layout.group, mode: "0640", secret: true },
                    { ...child, dependsOn: [packages] },
                ),
        );

        // One restart for every changed file, bridges' registrations included.
        const service = new Service(
            `${name}-service`,
            { host, unit: "matrix-synapse.service", fileHashes: [...files, keyFile, ...registrations, ...(unitFile ? [unitFile] : [])].map((f) => f.hash) },
            { ...child, dependsOn: [database, mediaStore, ...files, keyFile, ...registrations, ...(unitFile ? [unitFile] : [])] },
        );

        // Admin bootstrap: the shared secret is read from keys.yaml on the host, the password from stdin.
        const base = `http://localhost:${settings.listener.port}`;
        new remote.Command(
            `${name}-admin-user`,
            {
                connection: sshConnection(host),
                create: rootScript(
                    host,
                    `
for i in $(seq 1 60); do curl -fsS -o /dev/null ${base}/health && break; sleep 2; done
${registerUserCommand({ registerBin: venv ? `${SYNAPSE_VENV_DIR}/bin/register_new_matrix_user` : undefined, user: adminLocalpart, admin: true, keysFile: synapseKeysFile(layout), baseUrl: base })}
`,
                ),
                stdin: adminPassword,
                triggers: [adminLocalpart],
                logging: "none",
            },
            { ...child, dependsOn: [service], additionalSecretOutputs: ["stdin"] },
        );

        this.adminUserId = pulumi.output(`@${adminLocalpart}:${args.serverName}`);
        this.adminPassword = adminPassword;
        this.registrationSharedSecret = registrationSharedSecret;
        this.signingKeyId = keyId.apply((id) => `ed25519:${id}`);
        this.publicBaseUrl = pulumi.output(settings.publicBaseurl);
        this.listenerPort = pulumi.output(settings.listener.port);
        this.registerOutputs({
            adminUserId: this.adminUserId,
            adminPassword: this.adminPassword,
            registrationSharedSecret: this.registrationSharedSecret,
            signingKeyId: this.signingKeyId,
            publicBaseUrl: this.publicBaseUrl,
            listenerPort: this.listenerPort,
        });
    }
}
