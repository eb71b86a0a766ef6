/**
 * nginx for the public edge: one file per FQDN (an HTTPS server + its HTTP->HTTPS redirect), a
 * default server that answers unknown names with nothing, plus the shell scripts that apply the
 * config and obtain certificates with certbot. Pure and deterministic: typed sites in, text out.
 *
 * Header rule: nginx drops every inherited `add_header` in a block that has its own, so each
 * location that adds a header repeats the vhost's common set (HSTS, security headers).
 */
import { isIP } from "node:net";
import { shellQuote } from "./format";
import { RenderedFile } from "./types";

const DNS_NAME_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ABS_PATH_RE = /^\/[A-Za-z0-9._@\-/]*$/;
const SIZE_RE = /^[0-9]+[kKmMgG]?$/;
const URL_PATH_RE = /^\/([a-z0-9][a-z0-9-]*)?$/;
const FILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const NGINX_HEADER = "# Managed by matrix-maas. Local changes are overwritten on the next `pulumi up`.";

/** Where things live on a Debian nginx host. */
export const NGINX_LAYOUT = {
    /** Included by Debian's nginx.conf inside `http {}`. */
    confDir: "/etc/nginx/conf.d",
    certificatePath: "/etc/nginx/tls/matrix-maas/fullchain.pem",
    keyPath: "/etc/nginx/tls/matrix-maas/privkey.pem",
    acmeWebroot: "/var/www/acme",
    /** certbot lineage name. */
    certName: "matrix-maas",
    deployHookPath: "/usr/local/sbin/matrix-maas-certbot-deploy",
    /** Element web's static root (installed by ElementClient). */
    elementRoot: "/var/www/element/current",
} as const;

/** The Content-Security-Policy of static apps unless a site sets its own. */
export const DEFAULT_CONTENT_SECURITY_POLICY = "frame-ancestors 'self'";

/** How nginx listens and where its certificate is: the same for every vhost. */
export interface NginxServerOptions {
    /** Listen addresses; `0.0.0.0` renders `listen <port>`, `::` renders `listen [::]:<port>`. Default ["0.0.0.0", "::"]. */
    listenAddresses?: string[];
    /** Plain HTTP port (redirects, ACME challenges). Default 80. */
    httpPort?: number;
    /** HTTPS port. Default 443. */
    httpsPort?: number;
    /** Federation port for sites with `matrixApi.federationPort`. Default 8448. */
    federationPort?: number;
    /** Certificate chain (PEM) covering every FQDN. Default NGINX_LAYOUT.certificatePath. */
    certificatePath?: string;
    /** Private key (PEM). Default NGINX_LAYOUT.keyPath. */
    keyPath?: string;
    /** Serve `/.well-known/acme-challenge/` over HTTP from this directory. Default: none (no ACME). */
    acmeWebroot?: string;
    /** Strict-Transport-Security on every HTTPS response. Default true. */
    hsts?: boolean;
    /** Render `http2 on;` (nginx >= 1.25.1) instead of the `http2` listen flag (works on 1.22 and later). Default false. */
    http2Directive?: boolean;
    /** Directory of the rendered files. Default NGINX_LAYOUT.confDir. */
    confDir?: string;
}

/** The Synapse client/federation APIs behind one FQDN. */
export interface NginxMatrixApi {
    /** Synapse's HTTP listener, `host:port`, e.g. `127.0.0.1:8008` or `[::1]:8008`. */
    upstream: string;
    /** client_max_body_size = Synapse's max_upload_size (K/M/G or bytes), e.g. 50M. */
    maxBodySize: string;
    /** Source ranges allowed to reach /_synapse/admin; empty: refused (403) for everyone. */
    adminAllowlist: string[];
    /** Also serve this vhost on the federation port (8448). */
    federationPort: boolean;
}

/** `/.well-known/matrix/*` served from files in a directory (`server`, `client`, `support`). */
export interface NginxWellKnown {
    /** Directory holding the files `server`, `client` and (when `support`) `support`. */
    documentRoot: string;
    /** Serve `support`; false answers 404 (never `{}`). */
    support: boolean;
}

/** A static single-page app (Element, synapse-admin) served at `/` or under a path. */
export interface NginxStaticApp {
    /** `/` or one path segment such as `/admin`. */
    urlPath: string;
    /** Directory with index.html. */
    root: string;
    /** Files served from elsewhere, by name relative to the app, e.g. `{ "config.json": "/var/www/synapse-admin/config.json" }`. */
    fileOverrides?: Record<string, string>;
}

/** One FQDN. Several entries with the same serverName are merged into one vhost. */
export interface NginxSite {
    /** The FQDN (server_name). */
    serverName: string;
    /** Proxy the Matrix APIs to Synapse. */
    matrixApi?: NginxMatrixApi;
    /** Serve the Matrix domain's `.well-known` documents. */
    wellKnown?: NginxWellKnown;
    /** Static apps. */
    apps?: NginxStaticApp[];
    /** Content-Security-Policy for sites with apps. Default DEFAULT_CONTENT_SECURITY_POLICY. */
    contentSecurityPolicy?: string;
}

interface ResolvedOptions {
    listenAddresses: string[];
    httpPort: number;
    httpsPort: number;
    federationPort: number;
    certificatePath: string;
    keyPath: string;
    acmeWebroot?: string;
    hsts: boolean;
    http2Directive: boolean;
    confDir: string;
}

function fail(msg: string): never {
    throw new Error(`nginx: ${msg}`);
}

function checkPath(p: string, what: string): string {
    if (!ABS_PATH_RE.test(p) || p.split("/").includes("..")) fail(`${what} must be a plain absolute path, got ${JSON.stringify(p)}`);
    return p;
}

function checkPort(p: number, what: string): number {
    if (!Number.isInteger(p) || p < 1 || p > 65535) fail(`${what} must be a port number, got ${p}`);
    return p;
}

/** A header value or other free text as one nginx token: bare when safe, else double-quoted. No `$` (variables). */
function lit(v: string, what: string): string {
    if (/[\x00-\x1f\x7f$]/.test(v) || v.length === 0) fail(`${what} must be non-empty without control characters or '$', got ${JSON.stringify(v)}`);
    if (/^[A-Za-z0-9_./:@*+=,-]+$/.test(v)) return v;
    return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function checkCidr(s: string): string {
    const [ip, len, ...rest] = s.split("/");
    const v = isIP(ip);
    const max = v === 4 ? 32 : 128;
    if (rest.length > 0 || v === 0 || (len !== undefined && !(/^[0-9]{1,3}$/.test(len) && Number(len) <= max))) {
        fail(`adminAllowlist entry must be an IP address or CIDR such as 2001:db8::/32, got ${JSON.stringify(s)}`);
    }
    return s;
}

function checkUpstream(u: string): string {
    const m = /^(\[([0-9a-fA-F:.]+)\]|([0-9.]+)|([a-z0-9.-]+)):([0-9]{1,5})$/.exec(u);
    if (!m) fail(`matrixApi.upstream must be host:port such as 127.0.0.1:8008 or [::1]:8008, got ${JSON.stringify(u)}`);
    if (m[2] !== undefined && isIP(m[2]) !== 6) fail(`matrixApi.upstream has a bad IPv6 address: ${u}`);
    if (m[3] !== undefined && isIP(m[3]) !== 4) fail(`matrixApi.upstream has a bad IPv4 address: ${u}`);
    checkPort(Number(m[5]), "matrixApi.upstream port");
    return u;
}

function resolveOptions(o: NginxServerOptions): ResolvedOptions {
    const r: ResolvedOptions = {
        listenAddresses: o.listenAddresses ?? ["0.0.0.0", "::"],
        httpPort: checkPort(o.httpPort ?? 80, "httpPort"),
        httpsPort: checkPort(o.httpsPort ?? 443, "httpsPort"),
        federationPort: checkPort(o.federationPort ?? 8448, "federationPort"),
        certificatePath: checkPath(o.certificatePath ?? NGINX_LAYOUT.certificatePath, "certificatePath"),
        keyPath: checkPath(o.keyPath ?? NGINX_LAYOUT.keyPath, "keyPath"),
        acmeWebroot: o.acmeWebroot === undefined ? undefined : checkPath(o.acmeWebroot, "acmeWebroot"),
        hsts: o.hsts ?? true,
        http2Directive: o.http2Directive ?? false,
        confDir: checkPath(o.confDir ?? NGINX_LAYOUT.confDir, "confDir"),
    };
    if (r.listenAddresses.length === 0) fail("listenAddresses must not be empty");
    for (const a of r.listenAddresses) if (isIP(a) === 0) fail(`listen address must be an IP address, got ${JSON.stringify(a)}`);
    if (new Set([r.httpPort, r.httpsPort, r.federationPort]).size !== 3) fail("httpPort, httpsPort and federationPort must differ");
    return r;
}

/** Merge entries by serverName (sorted by name); conflicting parts throw. */
export function mergeNginxSites(parts: NginxSite[]): NginxSite[] {
    const byName = new Map<string, NginxSite>();
    for (const p of parts) {
        if (!DNS_NAME_RE.test(p.serverName)) fail(`server name must be a lower-case DNS name such as matrix.example.org, got ${JSON.stringify(p.serverName)}`);
        const cur = byName.get(p.serverName);
        if (!cur) {
            byName.set(p.serverName, { ...p, apps: [...(p.apps ?? [])] });
            continue;
        }
        if (p.matrixApi && cur.matrixApi) fail(`${p.serverName}: the Matrix API is configured twice`);
        if (p.wellKnown && cur.wellKnown) fail(`${p.serverName}: the well-known documents are configured twice`);
        if (p.contentSecurityPolicy && cur.contentSecurityPolicy && p.contentSecurityPolicy !== cur.contentSecurityPolicy) {
            fail(`${p.serverName}: two different Content-Security-Policies`);
        }
        byName.set(p.serverName, {
            serverName: p.serverName,
            matrixApi: cur.matrixApi ?? p.matrixApi,
            wellKnown: cur.wellKnown ?? p.wellKnown,
            apps: [...(cur.apps ?? []), ...(p.apps ?? [])],
            contentSecurityPolicy: cur.contentSecurityPolicy ?? p.contentSecurityPolicy,
        });
    }
    const sites = [...byName.values()].sort((a, b) => (a.serverName < b.serverName ? -1 : a.serverName > b.serverName ? 1 : 0));
    for (const s of sites) {
        const paths = new Set<string>();
        for (const app of s.apps ?? []) {
            if (!URL_PATH_RE.test(app.urlPath)) fail(`${s.serverName}: app path must be / or one segment such as /admin, got ${JSON.stringify(app.urlPath)}`);
            if (paths.has(app.urlPath)) fail(`${s.serverName}: two apps under ${app.urlPath}`);
            paths.add(app.urlPath);
            checkPath(app.root, `${s.serverName}${app.urlPath} root`);
            for (const [f, target] of Object.entries(app.fileOverrides ?? {})) {
                if (!FILE_NAME_RE.test(f)) fail(`${s.serverName}: file override name must be a plain file name, got ${JSON.stringify(f)}`);
                checkPath(target, `${s.serverName}${app.urlPath}${f} override`);
            }
        }
        if (s.matrixApi && s.apps?.some((a) => a.urlPath === "/")) fail(`${s.serverName}: a static app at / cannot share the Matrix API vhost (the homeserver must not share a domain with the web client)`);
        if (s.matrixApi) {
            checkUpstream(s.matrixApi.upstream);
            if (!SIZE_RE.test(s.matrixApi.maxBodySize)) fail(`${s.serverName}: maxBodySize must be a size such as 50M or a number of bytes, got ${JSON.stringify(s.matrixApi.maxBodySize)}`);
            s.matrixApi.adminAllowlist.forEach(checkCidr);
        }
        if (s.wellKnown) checkPath(s.wellKnown.documentRoot, `${s.serverName} wellKnown.documentRoot`);
    }
    return sites;
}

/** Tiny block writer with four-space indentation. */
class Conf {
    private readonly lines: string[] = [];
    private depth = 0;
    line(s: string): this {
        this.lines.push(s === "" ? "" : "    ".repeat(this.depth) + s);
        return this;
    }
    block(head: string, body: (c: Conf) => void): this {
        this.line(`${head} {`);
        this.depth++;
        body(this);
        this.depth--;
        return this.line("}");
    }
    text(): string {
        return this.lines.join("\n") + "\n";
    }
}

function listenAddr(addr: string, port: number): string {
    if (addr === "0.0.0.0") return `${port}`;
    if (isIP(addr) === 6) return `[${addr}]:${port}`;
    return `${addr}:${port}`;
}

function slug(s: string): string {
    return s.replace(/[^a-z0-9]+/g, "_");
}

type Header = [name: string, value: string];

function addHeaders(c: Conf, headers: Header[]): void {
    for (const [n, v] of headers) c.line(`add_header ${n} ${lit(v, `header ${n}`)} always;`);
}

function tlsLines(c: Conf, o: ResolvedOptions): void {
    c.line(`ssl_certificate ${o.certificatePath};`);
    c.line(`ssl_certificate_key ${o.keyPath};`);
    c.line("ssl_protocols TLSv1.2 TLSv1.3;");
    c.line("ssl_prefer_server_ciphers off;");
    if (o.http2Directive) c.line("http2 on;");
}

function httpsListen(c: Conf, o: ResolvedOptions, port: number, extra = ""): void {
    const flags = o.http2Directive ? "ssl" : "ssl http2";
    for (const a of o.listenAddresses) c.line(`listen ${listenAddr(a, port)} ${flags}${extra};`);
}

function proxyLines(c: Conf, upstreamName: string): void {
    c.line(`proxy_pass http://${upstreamName};`);
    c.line("proxy_http_version 1.1;");
    c.line('proxy_set_header Connection "";');
    c.line("proxy_set_header Host $host;");
    // Synapse trusts the first X-Forwarded-For entry: overwrite it, never append the client's.
    c.line("proxy_set_header X-Forwarded-For $remote_addr;");
    c.line("proxy_set_header X-Forwarded-Proto $scheme;");
    c.line("proxy_read_timeout 120s;");
}

const NO_CACHE: Header = ["Cache-Control", "no-cache"];
const WELL_KNOWN_HEADERS: Header[] = [
    ["Access-Control-Allow-Origin", "*"],
    ["Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"],
    ["Access-Control-Allow-Headers", "X-Requested-With, Content-Type, Authorization"],
];
/** Files of a static app answered with Cache-Control: no-cache (Element's recommendation). */
const NO_CACHE_FILES = ["index.html", "version", "config.json"];

function renderApp(c: Conf, app: NginxStaticApp, common: Header[]): void {
    const root = app.root.replace(/\/+$/, "");
    const prefix = app.urlPath === "/" ? "/" : `${app.urlPath}/`;
    const overrides = app.fileOverrides ?? {};
    const fileOf = (f: string) => overrides[f] ?? `${root}/${f}`;
    if (app.urlPath === "/") {
        c.block("location /", (l) => {
            l.line(`root ${root};`);
            l.line("index index.html;");
            l.line("try_files $uri $uri/ =404;");
        });
    } else {
        c.block(`location = ${app.urlPath}`, (l) => l.line(`return 301 ${prefix};`));
        c.block(`location ^~ ${prefix}`, (l) => {
            l.line(`alias ${root}/;`);
            l.line("index index.html;");
        });
    }
    const names = [...new Set([...NO_CACHE_FILES, ...Object.keys(overrides)])].sort();
    for (const f of names) {
        c.block(`location = ${prefix}${f}`, (l) => {
            l.line(`alias ${fileOf(f)};`);
            addHeaders(l, [...common, ...(NO_CACHE_FILES.includes(f) ? [NO_CACHE] : [])]);
        });
    }
    if (app.urlPath === "/") {
        // Element reads config.<hostname>.json before config.json.
        c.block("location ~ ^/config\\.[A-Za-z0-9.-]+\\.json$", (l) => {
            l.line(`root ${root};`);
            addHeaders(l, [...common, NO_CACHE]);
        });
    }
}

function renderWellKnownLocations(c: Conf, wk: NginxWellKnown, common: Header[]): void {
    const headers = [...common, ...WELL_KNOWN_HEADERS];
    const root = wk.documentRoot.replace(/\/+$/, "");
    for (const doc of ["client", "server", "support"]) {
        c.block(`location = /.well-known/matrix/${doc}`, (l) => {
            addHeaders(l, headers);
            if (doc === "support" && !wk.support) {
                l.line("return 404;");
                return;
            }
            l.line("if ($request_method = OPTIONS) { return 204; }");
            l.line("if ($request_method !~ ^(GET|HEAD)$) { return 405; }");
            l.line("types { }");
            l.line("default_type application/json;");
            l.line(`alias ${root}/${doc};`);
        });
    }
}

/** The text of one vhost file: upstream, HTTPS server, HTTP redirect server. */
export function renderNginxSite(site: NginxSite, options: NginxServerOptions = {}): string {
    const [s] = mergeNginxSites([site]);
    const o = resolveOptions(options);
    const hasApps = (s.apps ?? []).length > 0;
    const common: Header[] = [];
    if (o.hsts) common.push(["Strict-Transport-Security", "max-age=31536000"]);
    if (hasApps) {
        common.push(
            ["X-Frame-Options", "SAMEORIGIN"],
            ["X-Content-Type-Options", "nosniff"],
            ["Referrer-Policy", "strict-origin-when-cross-origin"],
            ["Content-Security-Policy", s.contentSecurityPolicy ?? DEFAULT_CONTENT_SECURITY_POLICY],
        );
    }
    const upstreamName = `matrix_maas_synapse_${slug(s.serverName)}`;
    const httpsSuffix = o.httpsPort === 443 ? "" : `:${o.httpsPort}`;
    const c = new Conf();
    c.line(NGINX_HEADER);
    c.line(`# ${s.serverName}`);
    if (s.matrixApi) {
        c.block(`upstream ${upstreamName}`, (u) => {
            u.line(`server ${s.matrixApi!.upstream};`);
            u.line("keepalive 16;");
        });
        c.line("");
    }
    c.block("server", (v) => {
        httpsListen(v, o, o.httpsPort);
        if (s.matrixApi?.federationPort) httpsListen(v, o, o.federationPort);
        v.line(`server_name ${s.serverName};`);
        v.line("server_tokens off;");
        tlsLines(v, o);
        if (s.matrixApi) v.line(`client_max_body_size ${s.matrixApi.maxBodySize};`);
        addHeaders(v, common);
        if (s.matrixApi) {
            const api = s.matrixApi;
            v.block("location ~ ^(/_matrix|/_synapse/client)", (l) => proxyLines(l, upstreamName));
            // The admin API: only from the allowlist; nobody when it is empty.
            v.block("location ^~ /_synapse/admin", (l) => {
                for (const cidr of api.adminAllowlist) l.line(`allow ${cidr};`);
                l.line("deny all;");
                if (api.adminAllowlist.length > 0) proxyLines(l, upstreamName);
            });
        }
        if (s.wellKnown) renderWellKnownLocations(v, s.wellKnown, common);
        const apps = [...(s.apps ?? [])].sort((a, b) => (a.urlPath < b.urlPath ? -1 : a.urlPath > b.urlPath ? 1 : 0));
        for (const app of apps) renderApp(v, app, common);
        if (!apps.some((a) => a.urlPath === "/")) v.block("location /", (l) => l.line("return 404;"));
    });
    c.line("");
    c.block("server", (v) => {
        for (const a of o.listenAddresses) v.line(`listen ${listenAddr(a, o.httpPort)};`);
        v.line(`server_name ${s.serverName};`);
        v.line("server_tokens off;");
        if (o.acmeWebroot) {
            v.block("location ^~ /.well-known/acme-challenge/", (l) => {
                l.line(`root ${o.acmeWebroot};`);
                l.line("default_type text/plain;");
            });
        }
        v.block("location /", (l) => l.line(`return 301 https://${s.serverName}${httpsSuffix}$request_uri;`));
    });
    return c.text();
}

/** The catch-all server: unknown names get no answer (444 on HTTP, TLS handshake refused on HTTPS). */
export function renderNginxDefaultServer(options: NginxServerOptions = {}): string {
    const o = resolveOptions(options);
    const c = new Conf();
    c.line(NGINX_HEADER);
    c.line("# Requests for names this proxy does not serve.");
    c.block("server", (v) => {
        for (const a of o.listenAddresses) v.line(`listen ${listenAddr(a, o.httpPort)} default_server;`);
        v.line("server_name _;");
        v.line("server_tokens off;");
        v.line("return 444;");
    });
    c.line("");
    c.block("server", (v) => {
        httpsListen(v, o, o.httpsPort, " default_server");
        v.line("server_name _;");
        v.line("server_tokens off;");
        if (o.http2Directive) v.line("http2 on;");
        v.line("ssl_reject_handshake on;");
    });
    return c.text();
}

/** File name of a vhost: `<confDir>/matrix-maas-<fqdn>.conf`. */
export function nginxSitePath(serverName: string, confDir: string = NGINX_LAYOUT.confDir): string {
    return `${confDir}/matrix-maas-${serverName}.conf`;
}

/** Every nginx file: the default server first, then one per FQDN (parts merged by name). */
export function renderNginxSites(parts: NginxSite[], options: NginxServerOptions = {}): RenderedFile[] {
    const o = resolveOptions(options);
    const sites = mergeNginxSites(parts);
    const file = (path: string, content: string): RenderedFile => ({ path, content, mode: "0644", owner: "root", group: "root", secret: false });
    return [
        file(`${o.confDir}/matrix-maas-00-default.conf`, renderNginxDefaultServer(options)),
        ...sites.map((s) => file(nginxSitePath(s.serverName, o.confDir), renderNginxSite(s, options))),
    ];
}

/** What the apply script needs. */
export interface NginxApplyInput {
    /** Create a short-lived self-signed placeholder when no certificate exists yet (ACME bootstrap). */
    placeholder?: { certificatePath: string; keyPath: string; commonName: string };
    /** Directories to create (e.g. the ACME webroot). Default []. */
    directories?: string[];
}

/**
 * Checks the config and reloads nginx (starts it when it is not running). Removes Debian's
 * default site, whose `default_server` would clash with ours.
 */
export function renderNginxApplyScript(i: NginxApplyInput = {}): string {
    const dirs = (i.directories ?? []).map((d) => shellQuote(checkPath(d, "directory")));
    const lines = ["set -euo pipefail"];
    if (dirs.length > 0) lines.push(`install -d -m 0755 ${dirs.join(" ")}`);
    if (i.placeholder) {
        const p = i.placeholder;
        if (!DNS_NAME_RE.test(p.commonName)) fail(`placeholder commonName must be a DNS name, got ${JSON.stringify(p.commonName)}`);
        const cert = shellQuote(checkPath(p.certificatePath, "certificatePath"));
        const key = shellQuote(checkPath(p.keyPath, "keyPath"));
        lines.push(
            `if [ ! -s ${cert} ] || [ ! -s ${key} ]; then`,
            `  install -d -m 0755 "$(dirname ${cert})" "$(dirname ${key})"`,
            `  openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj ${shellQuote(`/CN=${p.commonName}`)} -keyout ${key}.tmp -out ${cert}.tmp 2>/dev/null`,
            `  chmod 0600 ${key}.tmp && mv -f ${key}.tmp ${key} && mv -f ${cert}.tmp ${cert}`,
            "fi",
        );
    }
    lines.push(
        "rm -f /etc/nginx/sites-enabled/default",
        "nginx -t",
        "if systemctl is-active --quiet nginx; then systemctl reload nginx; else systemctl enable nginx; systemctl restart nginx; fi",
    );
    return lines.join("\n") + "\n";
}

/** certbot's deploy hook: copies a (re)issued lineage to nginx's stable paths and reloads nginx. */
export function renderCertbotDeployHook(i: { certificatePath: string; keyPath: string }): string {
    const cert = shellQuote(checkPath(i.certificatePath, "certificatePath"));
    const key = shellQuote(checkPath(i.keyPath, "keyPath"));
    return `#!/bin/sh
${NGINX_HEADER}
# certbot deploy hook: runs after every issuance and renewal with RENEWED_LINEAGE set.
set -eu
lineage="\${RENEWED_LINEAGE:?RENEWED_LINEAGE is not set}"
install -d -m 0755 "$(dirname ${cert})" "$(dirname ${key})"
install -m 0644 "$lineage/fullchain.pem" ${cert}.tmp && mv -f ${cert}.tmp ${cert}
install -m 0600 "$lineage/privkey.pem" ${key}.tmp && mv -f ${key}.tmp ${key}
nginx -t -q && systemctl reload nginx
`;
}

/** What certbot needs. */
export interface CertbotInput {
    /** Every FQDN of the certificate (first one names it). */
    domains: string[];
    /** ACME account email. */
    email: string;
    /** ACME directory URL. Default: Let's Encrypt production (certbot's default). */
    server?: string;
    /** http-01 webroot. Default NGINX_LAYOUT.acmeWebroot. */
    webroot?: string;
    /** Lineage name. Default NGINX_LAYOUT.certName. */
    certName?: string;
    /** The deploy hook (renderCertbotDeployHook). Default NGINX_LAYOUT.deployHookPath. */
    deployHookPath?: string;
    /** nginx's certificate path. Default NGINX_LAYOUT.certificatePath. */
    certificatePath?: string;
}

/**
 * Obtains (or keeps, when still valid for the same names) the certificate by http-01 through
 * nginx's webroot and enables certbot's renewal timer. Holds no secret.
 */
export function renderCertbotScript(i: CertbotInput): string {
    if (i.domains.length === 0) fail("certbot needs at least one domain");
    for (const d of i.domains) if (!DNS_NAME_RE.test(d)) fail(`certbot domain must be a DNS name, got ${JSON.stringify(d)}`);
    if (!/^[^@\s'"]+@[^@\s'"]+\.[a-z]+$/.test(i.email)) fail(`acmeEmail must be an email address, got ${JSON.stringify(i.email)}`);
    if (i.server !== undefined && !/^https:\/\/[^\s'"]+$/.test(i.server)) fail(`acmeServer must be an https:// URL, got ${JSON.stringify(i.server)}`);
    const certName = i.certName ?? NGINX_LAYOUT.certName;
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(certName)) fail(`certName must be lower-case letters, digits, '.', '-'`);
    const webroot = checkPath(i.webroot ?? NGINX_LAYOUT.acmeWebroot, "webroot");
    const hook = checkPath(i.deployHookPath ?? NGINX_LAYOUT.deployHookPath, "deployHookPath");
    const cert = checkPath(i.certificatePath ?? NGINX_LAYOUT.certificatePath, "certificatePath");
    const domains = [...new Set(i.domains)];
    const args = [
        "certonly",
        "--non-interactive",
        "--agree-tos",
        "--email",
        shellQuote(i.email),
        "--webroot",
        "--webroot-path",
        shellQuote(webroot),
        "--cert-name",
        shellQuote(certName),
        "--keep-until-expiring",
        "--deploy-hook",
        shellQuote(hook),
        ...(i.server ? ["--server", shellQuote(i.server)] : []),
        ...domains.flatMap((d) => ["-d", shellQuote(d)]),
    ];
    const live = `/etc/letsencrypt/live/${certName}`;
    return `set -euo pipefail
install -d -m 0755 ${shellQuote(webroot)}
certbot ${args.join(" ")}
# A kept certificate does not run the deploy hook: install it when nginx still has another one.
if [ -s ${shellQuote(`${live}/fullchain.pem`)} ] && ! cmp -s ${shellQuote(`${live}/fullchain.pem`)} ${shellQuote(cert)}; then
  RENEWED_LINEAGE=${shellQuote(live)} ${shellQuote(hook)}
fi
systemctl enable --now certbot.timer
`;
}
