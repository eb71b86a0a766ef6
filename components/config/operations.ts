/**
 * Stack config for what a hoster's customers ask for: registration policies (closed, open, email
 * pattern, token, LDAP, OIDC), consent tracking and server notices. Lives under `synapse.*`.
 */
import { z } from "zod";
import { dnsName, httpsUrl } from "./primitives";

export const REGISTRATION_POLICIES = {
    closed: "closed",
    open: "open",
    emailPattern: "email-pattern",
    token: "token",
    ldap: "ldap",
    oidc: "oidc",
} as const;

const regexString = z.string().refine((s) => {
    try {
        new RegExp(s);
        return true;
    } catch {
        return false;
    }
}, "must be a valid regular expression such as ^[^@]+@allowed\\.example$");

const ldapSchema = z
    .object({
        uris: z.array(z.string().regex(/^ldaps?:\/\/[^\s/]+(:[0-9]+)?\/?$/, "must be an LDAP URI such as ldaps://ldap.example.org:636")).min(1, "needs at least one LDAP URI").describe("LDAP server URIs (ldap:// with startTls, or ldaps://)."),
        startTls: z.boolean().default(true).describe("Use STARTTLS on ldap:// URIs."),
        base: z.string().min(1, "must be a DN such as ou=users,dc=example,dc=org").describe("Search base DN."),
        uidAttribute: z.string().default("uid").describe("Attribute holding the Matrix localpart."),
        mailAttribute: z.string().default("mail").describe("Attribute holding the email address."),
        nameAttribute: z.string().default("cn").describe("Attribute holding the display name."),
        filter: z.string().regex(/^\(.*\)$/, "must be an LDAP filter in parentheses such as (memberOf=cn=matrix,ou=groups,dc=example,dc=org)").optional().describe("Only users matching this filter may log in."),
        bindDn: z.string().optional().describe("Search mode: bind as this DN (password: secret key `ldapBindPassword`)."),
    })
    .strict();

const oidcSchema = z
    .object({
        idpId: z.string().regex(/^[a-z0-9._-]+$/, "must be lower-case letters, digits, '.', '_', '-'").default("oidc").describe("idp_id."),
        idpName: z.string().default("Single sign-on").describe("Button label."),
        issuer: httpsUrl.describe("OIDC issuer URL."),
        clientId: z.string().min(1).describe("client_id (secret: `oidcClientSecret`)."),
        scopes: z.array(z.string()).default(["openid", "profile", "email"]).describe("scopes."),
        localpartTemplate: z.string().default("{{ user.preferred_username }}").describe("user_mapping_provider localpart_template."),
        displayNameTemplate: z.string().default("{{ user.name }}").describe("user_mapping_provider display_name_template."),
        allowExistingUsers: z.boolean().default(false).describe("allow_existing_users."),
    })
    .strict();

export const registrationSchema = z
    .object({
        policy: z
            .enum(["closed", "open", "email-pattern", "token", "ldap", "oidc"])
            .default("closed")
            .describe("`closed` (admins create users), `open` (with captcha or email verification), `email-pattern`, `token`, `ldap`, `oidc`."),
        requireEmailVerification: z.boolean().default(false).describe("open: registrations_require_3pid [email] (needs email.enabled)."),
        captchaPublicKey: z.string().optional().describe("open: reCAPTCHA site key (private key: secret key `recaptchaPrivateKey`)."),
        acknowledgeOpenRegistrationWithoutVerification: z
            .boolean()
            .default(false)
            .describe("open without captcha or email verification: must be set explicitly (spam risk)."),
        allowedEmailPatterns: z.array(regexString).default([]).describe("email-pattern: allowed_local_3pids regexes, e.g. ^[^@]+@example\\.org$."),
        ldap: ldapSchema.optional().describe("ldap: the matrix-synapse-ldap3 module settings."),
        oidc: oidcSchema.optional().describe("oidc: one OIDC provider."),
        allowGuests: z.boolean().default(false).describe("allow_guest_access."),
        enableSetDisplayname: z.boolean().default(true).describe("enable_set_displayname."),
        enable3pidChanges: z.boolean().default(false).describe("enable_3pid_changes (always off with ldap)."),
        autoJoinRooms: z.array(z.string().regex(/^[#!][^:]+:.+$/, "must be a room alias like #lobby:example.org")).default([]).describe("auto_join_rooms for new users."),
    })
    .strict()
    .prefault({});

export const consentSchema = z
    .object({
        enabled: z.boolean().default(false).describe("Track consent to a policy (user_consent); needs serverNotices.enabled."),
        version: z.string().regex(/^[A-Za-z0-9._-]+$/, "must be a version label such as 1.0 or 2024-05").default("1.0").describe("Policy version; a new version asks everyone again."),
        policyName: z.string().default("Privacy Policy").describe("policy_name."),
        policyHtml: z.string().default("<p>Please read and accept our privacy policy.</p>").describe("The policy text (HTML body); the accept form is added around it."),
        successHtml: z.string().default("<p>Thank you, you may now close this page.</p>").describe("Page shown after accepting."),
        serverNoticeContent: z.string().optional().describe("Server notice asking users to consent (with %(consent_uri)s)."),
        blockEventsError: z.string().optional().describe("Error returned when an unconsented user sends (with %(consent_uri)s)."),
        requireAtRegistration: z.boolean().default(false).describe("require_at_registration."),
    })
    .strict()
    .prefault({});

export const serverNoticesSchema = z
    .object({
        enabled: z.boolean().default(false).describe("Enable server notices (system user + notices room)."),
        localpart: z.string().regex(/^[a-z0-9._=-]+$/, "must be a Matrix localpart").default("server").describe("system_mxid_localpart."),
        displayName: z.string().default("Server Notices").describe("system_mxid_display_name."),
        roomName: z.string().default("Server Notices").describe("room_name."),
        roomTopic: z.string().optional().describe("room_topic."),
        autoJoin: z.boolean().default(true).describe("auto_join: users join the notices room without accepting an invite."),
    })
    .strict()
    .prefault({});

export interface OperationsView {
    synapse: { registration: z.output<typeof registrationSchema>; consent: z.output<typeof consentSchema>; serverNotices: z.output<typeof serverNoticesSchema> };
    email: { enabled: boolean };
    matrixDomain: string;
}

type Issue = { path: (string | number)[]; message: string };

/** Cross-key rules of registration, consent and notices. */
export function refineOperations(c: OperationsView): Issue[] {
    const issues: Issue[] = [];
    const r = c.synapse.registration;
    const at = (k: string): (string | number)[] => ["synapse", "registration", k];
    if (r.policy === "open" && !r.captchaPublicKey && !r.requireEmailVerification && !r.acknowledgeOpenRegistrationWithoutVerification) {
        issues.push({
            path: at("policy"),
            message:
                "open registration without verification invites spam: set synapse.registration.captchaPublicKey or requireEmailVerification: true, use policy token, or set acknowledgeOpenRegistrationWithoutVerification: true",
        });
    }
    if ((r.policy === "email-pattern" || (r.policy === "open" && r.requireEmailVerification)) && !c.email.enabled) {
        issues.push({ path: at("policy"), message: `${r.policy} registration sends verification mail: set email.enabled and the SMTP settings` });
    }
    if (r.policy === "email-pattern" && r.allowedEmailPatterns.length === 0) issues.push({ path: at("allowedEmailPatterns"), message: "needs at least one pattern with policy email-pattern, e.g. ^[^@]+@example\\.org$" });
    if (r.policy === "ldap" && !r.ldap) issues.push({ path: at("ldap"), message: "is required with policy ldap: {uris, base, ...}" });
    if (r.policy === "oidc" && !r.oidc) issues.push({ path: at("oidc"), message: "is required with policy oidc: {issuer, clientId, ...}" });
    if (r.policy !== "ldap" && r.ldap) issues.push({ path: at("ldap"), message: "is only used with policy ldap" });
    if (r.policy !== "oidc" && r.oidc) issues.push({ path: at("oidc"), message: "is only used with policy oidc" });
    if (c.synapse.consent.enabled && !c.synapse.serverNotices.enabled) {
        issues.push({ path: ["synapse", "consent", "enabled"], message: "needs synapse.serverNotices.enabled: true (consent is asked through a server notice)" });
    }
    void dnsName;
    return issues;
}

/** Secret keys a given registration setup needs (checked by the loader). */
export function requiredOperationSecrets(c: OperationsView): { key: string; why: string }[] {
    const r = c.synapse.registration;
    const out: { key: string; why: string }[] = [];
    if (r.policy === "open" && r.captchaPublicKey) out.push({ key: "recaptchaPrivateKey", why: "with synapse.registration.captchaPublicKey" });
    if (r.policy === "ldap" && r.ldap?.bindDn) out.push({ key: "ldapBindPassword", why: "with synapse.registration.ldap.bindDn" });
    if (r.policy === "oidc") out.push({ key: "oidcClientSecret", why: "with synapse.registration.policy oidc" });
    return out;
}
