/**
 * The three `/.well-known/matrix/*` documents of a Matrix domain (spec "Server discovery" and
 * v1.10 `support`). Pure: plain values in, JSON text out (sorted keys, trailing newline).
 */
import { deepMerge, toJson } from "./format";

const DNS_NAME_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HTTPS_URL_RE = /^https:\/\/[^\s/?#]+(\/[^\s]*)?$/;
const MATRIX_ID_RE = /^@[^:\s]+:[^\s]+$/;
const EMAIL_RE = /^[^@\s]+@[^@\s]+$/;
/** `m.role.admin`, `m.role.security`, `m.role.moderator`, or a namespaced custom role (`org.example.role`). */
const ROLE_RE = /^(m\.role\.[a-z_]+|[a-z0-9-]+(\.[a-z0-9_-]+)+)$/;

/** Where WellKnownDelegation writes the documents on the proxy host (one file per document). */
export function wellKnownDocumentRoot(matrixDomain: string): string {
    return `/var/www/matrix-well-known/${matrixDomain}`;
}

/** One entry of `/.well-known/matrix/support` `contacts`. */
export interface WellKnownSupportContact {
    /** `m.role.admin`, `m.role.security`, `m.role.moderator` or a namespaced role. */
    role: string;
    /** Matrix user id, e.g. `@admin:example.org`. */
    matrixId?: string;
    /** Email address. */
    emailAddress?: string;
}

export interface WellKnownInput {
    /** Homeserver FQDN (federation and client API), e.g. matrix.example.org. */
    homeserverDomain: string;
    /** Port in `m.server`. Default 443. */
    serverPort?: number;
    /** `m.homeserver.base_url`. Default `https://<homeserverDomain>`. */
    baseUrl?: string;
    /** `m.identity_server.base_url`. Default: none. */
    identityServer?: string;
    /** Extra keys deep-merged into the client document (e.g. `io.element.e2ee`); may not touch `m.homeserver`. */
    clientExtras?: Record<string, unknown>;
    /** Support contacts. Default []. */
    supportContacts?: WellKnownSupportContact[];
    /** `support_page` URL. Default: none. */
    supportPage?: string;
}

export interface WellKnownDocuments {
    /** `/.well-known/matrix/server`. */
    server: string;
    /** `/.well-known/matrix/client`. */
    client: string;
    /** `/.well-known/matrix/support`; undefined when there is nothing to publish (serve 404, never `{}`). */
    support: string | undefined;
}

/** Renders the documents; throws an Error naming the bad field. */
export function renderWellKnown(i: WellKnownInput): WellKnownDocuments {
    if (!DNS_NAME_RE.test(i.homeserverDomain)) throw new Error(`well-known: homeserverDomain must be a lower-case DNS name, got ${JSON.stringify(i.homeserverDomain)}`);
    const port = i.serverPort ?? 443;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`well-known: serverPort must be a port number, got ${port}`);
    const baseUrl = (i.baseUrl ?? `https://${i.homeserverDomain}`).replace(/\/+$/, "");
    for (const [k, v] of [["baseUrl", baseUrl], ["identityServer", i.identityServer], ["supportPage", i.supportPage]] as const) {
        if (v !== undefined && !HTTPS_URL_RE.test(v)) throw new Error(`well-known: ${k} must be an https:// URL, got ${JSON.stringify(v)}`);
    }
    const extras = i.clientExtras ?? {};
    for (const k of ["m.homeserver", "m.identity_server"]) {
        if (k in extras) throw new Error(`well-known: clientExtras must not set ${k} (use homeserverDomain / identityServer)`);
    }

    const server = toJson({ "m.server": `${i.homeserverDomain}:${port}` });
    const client = toJson(
        deepMerge(
            {
                "m.homeserver": { base_url: baseUrl },
                ...(i.identityServer ? { "m.identity_server": { base_url: i.identityServer.replace(/\/+$/, "") } } : {}),
            },
            extras,
        ),
    );

    const contacts = (i.supportContacts ?? []).map((c, n) => {
        if (!ROLE_RE.test(c.role)) throw new Error(`well-known: supportContacts[${n}].role must be m.role.admin, m.role.security or a namespaced role, got ${JSON.stringify(c.role)}`);
        if (!c.matrixId && !c.emailAddress) throw new Error(`well-known: supportContacts[${n}] needs matrixId or emailAddress`);
        if (c.matrixId !== undefined && !MATRIX_ID_RE.test(c.matrixId)) throw new Error(`well-known: supportContacts[${n}].matrixId must be a user id like @admin:example.org`);
        if (c.emailAddress !== undefined && !EMAIL_RE.test(c.emailAddress)) throw new Error(`well-known: supportContacts[${n}].emailAddress must be an email address`);
        return {
            role: c.role,
            ...(c.matrixId ? { matrix_id: c.matrixId } : {}),
            ...(c.emailAddress ? { email_address: c.emailAddress } : {}),
        };
    });
    const support =
        contacts.length > 0 || i.supportPage
            ? toJson({ ...(contacts.length > 0 ? { contacts } : {}), ...(i.supportPage ? { support_page: i.supportPage } : {}) })
            : undefined;
    return { server, client, support };
}
