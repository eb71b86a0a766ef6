import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import {
    DEFAULT_CONTENT_SECURITY_POLICY,
    NginxSite,
    renderCertbotDeployHook,
    renderCertbotScript,
    renderNginxApplyScript,
    renderNginxSite,
    renderNginxSites,
} from "../../components/render/nginx";

/** A minimal nginx config parser: directives and blocks, enough to check structure. */
interface Node {
    name: string;
    args: string[];
    children?: Node[];
}
function parseNginx(text: string): Node[] {
    const tokens: string[] = [];
    const re = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|#[^\n]*|([^\s{};"'#]+)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text))) {
        if (m[1] !== undefined) tokens.push(m[1].replace(/\\(.)/g, "$1"));
        else if (m[2] !== undefined) tokens.push(m[2]);
        else if (m[3] !== undefined) tokens.push(m[3]);
        else if (m[4] !== undefined) tokens.push(m[4]);
    }
    let i = 0;
    const parseBlock = (): Node[] => {
        const out: Node[] = [];
        while (i < tokens.length && tokens[i] !== "}") {
            const words: string[] = [];
            while (tokens[i] !== ";" && tokens[i] !== "{") {
                assert.ok(i < tokens.length, "unterminated directive");
                words.push(tokens[i++]);
            }
            if (tokens[i++] === "{") {
                const children = parseBlock();
                assert.equal(tokens[i++], "}", "block closed");
                out.push({ name: words[0], args: words.slice(1), children });
            } else out.push({ name: words[0], args: words.slice(1) });
        }
        return out;
    };
    const nodes = parseBlock();
    assert.equal(i, tokens.length, "balanced braces");
    return nodes;
}
const headersOf = (n: Node) => (n.children ?? []).filter((c) => c.name === "add_header").map((c) => c.args[0]);
const find = (nodes: Node[] | undefined, name: string, ...args: string[]) =>
    (nodes ?? []).filter((n) => n.name === name && args.every((a, k) => n.args[k] === a));

const HS: NginxSite = {
    serverName: "matrix.example.org",
    matrixApi: { upstream: "127.0.0.1:8008", maxBodySize: "100M", adminAllowlist: [], federationPort: false },
};
const ELEMENT: NginxSite = { serverName: "chat.example.org", apps: [{ urlPath: "/", root: "/var/www/element/current" }] };
const ADMIN_UNDER_PATH: NginxSite = {
    serverName: "chat.example.org",
    apps: [{ urlPath: "/admin", root: "/var/www/synapse-admin/current", fileOverrides: { "config.json": "/var/www/synapse-admin/config.json" } }],
};
const WK: NginxSite = { serverName: "example.org", wellKnown: { documentRoot: "/var/www/matrix-well-known/example.org", support: true } };

function httpsServer(text: string): Node {
    const servers = find(parseNginx(text), "server");
    assert.equal(servers.length, 2, "an HTTPS server and an HTTP redirect server");
    const s = servers.find((x) => find(x.children, "listen").some((l) => l.args.includes("ssl")));
    assert.ok(s);
    return s;
}

describe("render/nginx", () => {
    it("renders one file per FQDN plus the default server, deterministically", () => {
        const a = renderNginxSites([WK, ELEMENT, HS, ADMIN_UNDER_PATH]);
        const b = renderNginxSites([ADMIN_UNDER_PATH, HS, ELEMENT, WK]);
        assert.deepEqual(
            a.map((f) => f.path),
            [
                "/etc/nginx/conf.d/matrix-maas-00-default.conf",
                "/etc/nginx/conf.d/matrix-maas-chat.example.org.conf",
                "/etc/nginx/conf.d/matrix-maas-example.org.conf",
                "/etc/nginx/conf.d/matrix-maas-matrix.example.org.conf",
            ],
        );
        assert.equal(a.map((f) => f.content).join(""), b.map((f) => f.content).join(""), "input order does not change the bytes");
        for (const f of a) {
            assert.equal(f.mode, "0644");
            assert.equal(f.secret, false);
            parseNginx(f.content);
        }
    });

    it("listens on IPv4 and IPv6 with TLS and HTTP/2, and redirects HTTP to HTTPS", () => {
        const text = renderNginxSite(ELEMENT);
        assert.match(text, /^ {4}listen 443 ssl http2;$/m);
        assert.match(text, /^ {4}listen \[::\]:443 ssl http2;$/m);
        assert.match(text, /^ {4}listen \[::\]:80;$/m);
        const http = find(parseNginx(text), "server").find((s) => find(s.children, "listen", "80").length === 1)!;
        const redirect = find(find(http.children, "location", "/")[0].children, "return")[0];
        assert.deepEqual(redirect.args, ["301", "https://chat.example.org$request_uri"]);
        // Non-default ports appear in the redirect; the http2 directive style for nginx >= 1.25.
        const custom = renderNginxSite(ELEMENT, { httpPort: 8080, httpsPort: 8443, listenAddresses: ["127.0.0.1", "::1"], http2Directive: true });
        assert.match(custom, /listen 127\.0\.0\.1:8443 ssl;/);
        assert.match(custom, /listen \[::1\]:8443 ssl;/);
        assert.match(custom, /http2 on;/);
        assert.match(custom, /return 301 https:\/\/chat\.example\.org:8443\$request_uri;/);
    });

    it("proxies the Matrix APIs with X-Forwarded-For/Proto and Synapse's upload limit; federation on 8448 only when chosen", () => {
        const s = httpsServer(renderNginxSite(HS));
        assert.deepEqual(find(s.children, "client_max_body_size")[0].args, ["100M"]);
        const api = find(s.children, "location", "~", "^(/_matrix|/_synapse/client)")[0];
        const set = Object.fromEntries(find(api.children, "proxy_set_header").map((n) => [n.args[0], n.args[1]]));
        assert.equal(set["X-Forwarded-For"], "$remote_addr");
        assert.equal(set["X-Forwarded-Proto"], "$scheme");
        assert.equal(set.Host, "$host");
        assert.match(find(api.children, "proxy_pass")[0].args[0], /^http:\/\/matrix_maas_synapse_/);
        assert.equal(find(s.children, "listen").some((l) => l.args[0].endsWith("8448")), false);
        const fed = httpsServer(renderNginxSite({ ...HS, matrixApi: { ...HS.matrixApi!, federationPort: true } }));
        assert.deepEqual(
            find(fed.children, "listen").map((l) => l.args[0]),
            ["443", "[::]:443", "8448", "[::]:8448"],
        );
    });

    it("refuses /_synapse/admin to everyone without an allowlist, and allows only the listed ranges with one", () => {
        const closed = find(httpsServer(renderNginxSite(HS)).children, "location", "^~", "/_synapse/admin")[0];
        assert.deepEqual(closed.children!.map((c) => `${c.name} ${c.args.join(" ")}`), ["deny all"], "no proxy_pass when closed");
        const open = find(
            httpsServer(renderNginxSite({ ...HS, matrixApi: { ...HS.matrixApi!, adminAllowlist: ["2001:db8::/32", "203.0.113.7/32"] } })).children,
            "location",
            "^~",
            "/_synapse/admin",
        )[0];
        const names = open.children!.map((c) => `${c.name} ${c.args[0]}`);
        assert.deepEqual(names.slice(0, 3), ["allow 2001:db8::/32", "allow 203.0.113.7/32", "deny all"]);
        assert.ok(names.includes("proxy_pass http://matrix_maas_synapse_matrix_example_org"));
        // The client API regex does not cover the admin API.
        assert.equal(new RegExp("^(/_matrix|/_synapse/client)").test("/_synapse/admin/v1/users"), false);
    });

    it("keeps the security headers effective in every location that adds its own (add_header inheritance)", () => {
        const s = httpsServer(renderNginxSites([ELEMENT, ADMIN_UNDER_PATH]).find((f) => f.path.endsWith("chat.example.org.conf"))!.content);
        const serverLevel = headersOf(s);
        assert.deepEqual(serverLevel, ["Strict-Transport-Security", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Content-Security-Policy"]);
        const csp = find(s.children, "add_header", "Content-Security-Policy")[0];
        assert.equal(csp.args[1], DEFAULT_CONTENT_SECURITY_POLICY);
        const locations = find(s.children, "location");
        let withOwn = 0;
        for (const l of locations) {
            const own = headersOf(l);
            if (own.length === 0) continue;
            withOwn++;
            for (const h of serverLevel) assert.ok(own.includes(h), `location ${l.args.join(" ")} repeats ${h}`);
        }
        assert.ok(withOwn >= 6, `${withOwn} locations with their own headers`);
        const noCache = (loc: string[]) => {
            const l = find(s.children, "location", ...loc)[0];
            assert.ok(l, `location ${loc.join(" ")}`);
            return find(l.children, "add_header", "Cache-Control").map((h) => h.args[1]);
        };
        assert.deepEqual(noCache(["=", "/index.html"]), ["no-cache"]);
        assert.deepEqual(noCache(["=", "/config.json"]), ["no-cache"]);
        assert.deepEqual(noCache(["~", "^/config\\.[A-Za-z0-9.-]+\\.json$"]), ["no-cache"]);
        assert.deepEqual(noCache(["=", "/admin/index.html"]), ["no-cache"]);
        assert.deepEqual(noCache(["=", "/admin/config.json"]), ["no-cache"]);
        assert.deepEqual(find(find(s.children, "location", "=", "/admin/config.json")[0].children, "alias")[0].args, ["/var/www/synapse-admin/config.json"]);
        assert.deepEqual(find(find(s.children, "location", "^~", "/admin/")[0].children, "alias")[0].args, ["/var/www/synapse-admin/current/"]);
        // The plain asset location sets no header of its own, so it inherits the server's.
        assert.deepEqual(headersOf(find(s.children, "location", "/")[0]), []);
        // HSTS off removes it everywhere.
        assert.doesNotMatch(renderNginxSite(ELEMENT, { hsts: false }), /Strict-Transport-Security/);
    });

    it("serves the well-known documents as JSON with CORS, 405 for other methods, and 404 for an empty support", () => {
        const s = httpsServer(renderNginxSite(WK));
        for (const doc of ["server", "client", "support"]) {
            const l = find(s.children, "location", "=", `/.well-known/matrix/${doc}`)[0];
            assert.ok(l, doc);
            assert.deepEqual(find(l.children, "default_type")[0].args, ["application/json"]);
            assert.deepEqual(find(l.children, "add_header", "Access-Control-Allow-Origin")[0].args, ["Access-Control-Allow-Origin", "*", "always"]);
            assert.deepEqual(find(l.children, "alias")[0].args, [`/var/www/matrix-well-known/example.org/${doc}`]);
            assert.ok(find(l.children, "if").some((i) => i.children!.some((c) => c.name === "return" && c.args[0] === "405")));
            assert.ok(headersOf(l).includes("Strict-Transport-Security"));
        }
        const none = httpsServer(renderNginxSite({ ...WK, wellKnown: { ...WK.wellKnown!, support: false } }));
        const support = find(none.children, "location", "=", "/.well-known/matrix/support")[0];
        assert.deepEqual(find(support.children, "return")[0].args, ["404"]);
        assert.equal(find(support.children, "alias").length, 0);
        // Everything else on the bare domain: 404.
        assert.deepEqual(find(find(none.children, "location", "/")[0].children, "return")[0].args, ["404"]);
    });

    it("merges parts of one FQDN (well-known on the homeserver name) and serves ACME challenges only with a webroot", () => {
        const merged = renderNginxSites([HS, { ...WK, serverName: "matrix.example.org" }], { acmeWebroot: "/var/www/acme" });
        assert.equal(merged.length, 2);
        const text = merged[1].content;
        assert.match(text, /location = \/\.well-known\/matrix\/server/);
        assert.match(text, /location \^~ \/\.well-known\/acme-challenge\/ \{\n\s+root \/var\/www\/acme;/);
        assert.doesNotMatch(renderNginxSite(HS), /acme-challenge/);
    });

    it("answers unknown names with nothing (default server)", () => {
        const d = renderNginxSites([HS])[0].content;
        const servers = find(parseNginx(d), "server");
        assert.deepEqual(find(servers[0].children, "return")[0].args, ["444"]);
        assert.deepEqual(find(servers[1].children, "ssl_reject_handshake")[0].args, ["on"]);
        assert.ok(find(servers[1].children, "listen").every((l) => l.args.includes("default_server")));
    });

    it("rejects bad input with a message naming the field", () => {
        const bad: [NginxSite, RegExp][] = [
            [{ ...ELEMENT, serverName: "Chat.Example.org" }, /server name must be a lower-case DNS name/],
            [{ ...ELEMENT, serverName: "chat.example.org;evil" }, /server name/],
            [{ ...HS, matrixApi: { ...HS.matrixApi!, adminAllowlist: ["10.0.0.0/33"] } }, /adminAllowlist entry/],
            [{ ...HS, matrixApi: { ...HS.matrixApi!, adminAllowlist: ["all"] } }, /adminAllowlist entry/],
            [{ ...HS, matrixApi: { ...HS.matrixApi!, maxBodySize: "50 MB" } }, /maxBodySize/],
            [{ ...HS, matrixApi: { ...HS.matrixApi!, upstream: "localhost" } }, /upstream must be host:port/],
            [{ ...ELEMENT, contentSecurityPolicy: "default-src $foo" }, /Content-Security-Policy must be/],
            [{ ...ELEMENT, apps: [{ urlPath: "/a/b", root: "/x" }] }, /app path/],
            [{ ...ELEMENT, apps: [{ urlPath: "/", root: "/x/../etc" }] }, /plain absolute path/],
            [{ ...HS, apps: [{ urlPath: "/", root: "/x" }] }, /must not share a domain/],
        ];
        for (const [site, re] of bad) assert.throws(() => renderNginxSite(site), re, JSON.stringify(site));
        assert.throws(() => renderNginxSites([HS, HS]), /Matrix API is configured twice/);
        assert.throws(() => renderNginxSites([ELEMENT, ELEMENT]), /two apps under \//);
        assert.throws(() => renderNginxSite(ELEMENT, { listenAddresses: ["*"] }), /listen address/);
        assert.throws(() => renderNginxSite(ELEMENT, { httpsPort: 80 }), /must differ/);
    });

    it("quotes header values safely", () => {
        const text = renderNginxSite({ ...ELEMENT, contentSecurityPolicy: `frame-ancestors 'self'; script-src 'self' "x"` });
        const s = httpsServer(text);
        assert.equal(find(s.children, "add_header", "Content-Security-Policy")[0].args[1], `frame-ancestors 'self'; script-src 'self' "x"`);
    });

    describe("scripts", () => {
        const bashSyntax = (script: string) => {
            const r = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
            assert.equal(r.status, 0, r.stderr);
        };
        it("apply script: config test before reload, placeholder certificate only when missing", () => {
            const s = renderNginxApplyScript({ directories: ["/var/www/acme"], placeholder: { certificatePath: "/etc/nginx/tls/c.pem", keyPath: "/etc/nginx/tls/k.pem", commonName: "matrix.example.org" } });
            bashSyntax(s);
            assert.ok(s.indexOf("nginx -t") < s.indexOf("systemctl reload nginx"));
            assert.match(s, /if \[ ! -s '\/etc\/nginx\/tls\/c\.pem' \] \|\| \[ ! -s '\/etc\/nginx\/tls\/k\.pem' \]; then/);
            assert.match(s, /rm -f \/etc\/nginx\/sites-enabled\/default/);
            bashSyntax(renderNginxApplyScript());
        });
        it("certbot: http-01 webroot for every name, deploy hook, renewal timer", () => {
            const s = renderCertbotScript({ domains: ["matrix.example.org", "chat.example.org", "matrix.example.org"], email: "ops@example.org", server: "https://acme-staging-v02.api.letsencrypt.org/directory" });
            bashSyntax(s);
            assert.match(s, /certbot certonly --non-interactive --agree-tos --email 'ops@example\.org' --webroot --webroot-path '\/var\/www\/acme'/);
            assert.equal(s.match(/ -d 'matrix\.example\.org'/g)!.length, 1, "names de-duplicated");
            assert.match(s, / -d 'chat\.example\.org'/);
            assert.match(s, /--deploy-hook '\/usr\/local\/sbin\/matrix-maas-certbot-deploy'/);
            assert.match(s, /--server 'https:\/\/acme-staging-v02/);
            assert.match(s, /systemctl enable --now certbot\.timer/);
            assert.throws(() => renderCertbotScript({ domains: ["x.example.org"], email: "a@b.org'; rm -rf /" }), /acmeEmail/);
            const hook = renderCertbotDeployHook({ certificatePath: "/etc/nginx/tls/c.pem", keyPath: "/etc/nginx/tls/k.pem" });
            bashSyntax(hook);
            assert.match(hook, /install -m 0600 "\$lineage\/privkey\.pem"/);
        });
    });
});
