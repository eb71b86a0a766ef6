/**
 * Real-software harness for the `real` test tier: Debian's PostgreSQL in a private cluster and
 * Synapse from a PyPI venv, both on loopback, started from the files our renderers produce.
 * Every wait is bounded; every process is stopped by the returned handle.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { registerUserCommand, renderSynapseConfig, synapseCommand, SynapseSecrets, SynapseSettings } from "../../components/render";

export const REPO = path.resolve(__dirname, "../..");
/** The venv test/real/setup.sh creates (override with SYNAPSE_VENV). */
export const SYNAPSE_VENV = process.env.SYNAPSE_VENV ?? path.join(REPO, ".cache/synapse-venv");
/** Unprivileged user the servers run as when the tests run as root. */
export const SERVICE_USER = "nobody";

export function isRoot(): boolean {
    return process.getuid?.() === 0;
}

/** Why the real tier cannot run here, or undefined when it can. */
export function missingTools(): string | undefined {
    if (!pgBinDir()) return "PostgreSQL server binaries not found (run test/real/setup.sh: apt-get install postgresql)";
    if (!fs.existsSync(path.join(SYNAPSE_VENV, "bin/python"))) return `no Synapse venv at ${SYNAPSE_VENV} (run test/real/setup.sh)`;
    return undefined;
}

export function pgBinDir(): string | undefined {
    const base = "/usr/lib/postgresql";
    if (!fs.existsSync(base)) return undefined;
    const versions = fs.readdirSync(base).filter((v) => /^[0-9]+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (fs.existsSync(path.join(base, v, "bin/pg_ctl"))) return path.join(base, v, "bin");
    return undefined;
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = createServer();
        srv.once("error", reject);
        srv.listen(0, host, () => {
            const addr = srv.address();
            srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
        });
    });
}

/** A temp dir the service user can use (world-traversable, owned by it). */
export function serviceTempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.chmodSync(dir, 0o755);
    if (isRoot()) spawnSync("chown", [`${SERVICE_USER}:nogroup`, dir]);
    return dir;
}

function asServiceUser(cmd: string, args: string[]): [string, string[]] {
    return isRoot() ? ["runuser", ["-u", SERVICE_USER, "--", cmd, ...args]] : [cmd, args];
}

function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(cmd, args, { input: opts.input, encoding: "utf8", timeout: opts.timeoutMs ?? 60_000 });
    return { status: r.status, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

export interface Postgres {
    host: string;
    port: number;
    socketDir: string;
    /** Run SQL as the cluster superuser; SQL goes on stdin. */
    psql(sql: string, db?: string): string;
    stop(): void;
}

/**
 * A private PostgreSQL cluster on 127.0.0.1, initialised with a non-C locale on purpose: the
 * database Synapse uses must get its C collation from CREATE DATABASE ... TEMPLATE template0.
 */
export async function startPostgres(dir: string): Promise<Postgres> {
    const bin = pgBinDir();
    if (!bin) throw new Error("PostgreSQL binaries not found");
    const data = path.join(dir, "pgdata");
    const socketDir = path.join(dir, "pgsock");
    fs.mkdirSync(socketDir, { recursive: true });
    if (isRoot()) spawnSync("chown", ["-R", `${SERVICE_USER}:nogroup`, dir]);
    const port = await freePort();
    const [c1, a1] = asServiceUser(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]);
    const init = run(c1, a1, { timeoutMs: 120_000 });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    // Local password auth for the Synapse role, as on a real host (scram over TCP).
    fs.writeFileSync(path.join(data, "pg_hba.conf"), "local all postgres trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
    const [c2, a2] = asServiceUser(path.join(bin, "pg_ctl"), [
        "-D", data, "-l", path.join(dir, "postgres.log"), "-w", "-t", "60",
        "-o", `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${socketDir} -c fsync=off`,
        "start",
    ]);
    const start = run(c2, a2, { timeoutMs: 90_000 });
    if (start.status !== 0) throw new Error(`pg_ctl start failed: ${start.stderr}\n${safeRead(path.join(dir, "postgres.log"))}`);
    const psql = (sql: string, db = "postgres") => {
        const r = run(path.join(bin, "psql"), ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", socketDir, "-p", String(port), "-U", "postgres", "-d", db], { input: sql });
        if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
        return r.stdout.trim();
    };
    return {
        host: "127.0.0.1",
        port,
        socketDir,
        psql,
        stop: () => {
            const [c, a] = asServiceUser(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"]);
            run(c, a);
        },
    };
}

function safeRead(p: string): string {
    try {
        return fs.readFileSync(p, "utf8");
    } catch {
        return "";
    }
}

/**
 * Role + database exactly as the Homeserver component asks @pulumi/postgresql for them:
 * LOGIN PASSWORD, UTF8, LC_COLLATE/LC_CTYPE 'C', TEMPLATE template0. The password goes through
 * a psql variable on stdin, never on a command line.
 */
export function createSynapseDatabase(pg: Postgres, o: { name: string; user: string; password: string }): void {
    pg.psql(
        [
            `\\set pw '${o.password.replace(/'/g, "''")}'`,
            `CREATE ROLE ${o.user} LOGIN PASSWORD :'pw';`,
            `CREATE DATABASE ${o.name} OWNER ${o.user} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;`,
        ].join("\n"),
    );
}

export interface SynapseProcess {
    port: number;
    baseUrl: string;
    logFile: string;
    process: ChildProcess;
    stop(): Promise<void>;
    tail(lines?: number): string;
}

/** Write rendered files (with their modes) below `root`; returns the paths written. */
export function writeRenderedFiles(files: { path: string; content: string; mode: string }[]): string[] {
    for (const f of files) {
        fs.mkdirSync(path.dirname(f.path), { recursive: true });
        fs.writeFileSync(f.path, f.content);
        fs.chmodSync(f.path, parseInt(f.mode, 8));
        if (isRoot()) spawnSync("chown", [`root:nogroup`, f.path]);
    }
    return files.map((f) => f.path);
}

/**
 * Synapse from the venv with `--config-path homeserver.yaml --config-path conf.d/`, as the Debian
 * unit runs it. Waits (bounded) for /health; fails with the log tail when Synapse exits or refuses.
 */
export async function startSynapse(o: { settings: SynapseSettings; secrets: SynapseSecrets; signingKey: string; timeoutMs?: number }): Promise<SynapseProcess> {
    const s = o.settings;
    const files = renderSynapseConfig(s, o.secrets);
    writeRenderedFiles([...files, { path: s.signingKeyPath, content: o.signingKey, mode: "0640" }]);
    for (const d of [s.dataDir, s.logDir, s.media.storePath]) {
        fs.mkdirSync(d, { recursive: true });
        if (isRoot()) spawnSync("chown", ["-R", `${SERVICE_USER}:nogroup`, d]);
    }
    const logFile = path.join(s.logDir, "homeserver.log");
    const stderrFile = path.join(s.logDir, "stderr.log");
    const out = fs.openSync(stderrFile, "a");
    // The same argv the venv install method's systemd unit runs.
    const [python, ...args] = synapseCommand(SYNAPSE_VENV, s);
    const [cmd, cmdArgs] = asServiceUser(python, args);
    const child = spawn(cmd, cmdArgs, { stdio: ["ignore", out, out], env: { ...process.env, PYTHONUNBUFFERED: "1" } });
    let exited: number | null | undefined;
    child.on("exit", (code) => (exited = code));
    const baseUrl = `http://127.0.0.1:${s.listener.port}`;
    const tail = (n = 60) => [safeRead(stderrFile), safeRead(logFile)].join("\n").split("\n").slice(-n).join("\n");
    const deadline = Date.now() + (o.timeoutMs ?? 120_000);
    while (Date.now() < deadline) {
        if (exited !== undefined) throw new Error(`Synapse exited (${exited}) — it refused the config:\n${tail()}`);
        try {
            const r = await fetch(`${baseUrl}/health`);
            if (r.status === 200) break;
        } catch {
            /* not listening yet */
        }
        await new Promise((r) => setTimeout(r, 500));
    }
    if (Date.now() >= deadline) {
        child.kill("SIGKILL");
        throw new Error(`Synapse did not answer /health in time:\n${tail()}`);
    }
    return {
        port: s.listener.port,
        baseUrl,
        logFile,
        process: child,
        tail,
        stop: async () => {
            if (exited !== undefined) return;
            child.kill("SIGTERM");
            const t = Date.now() + 15_000;
            while (exited === undefined && Date.now() < t) await new Promise((r) => setTimeout(r, 100));
            if (exited === undefined) child.kill("SIGKILL");
        },
    };
}

/**
 * Register a user the way the Homeserver component bootstraps its admin: the venv's
 * register_new_matrix_user reads the shared secret from conf.d/keys.yaml and the password from stdin.
 */
export function registerWithSharedSecret(o: { keysFile: string; baseUrl: string; user: string; password: string; admin: boolean }): { status: number | null; output: string } {
    const cmd = registerUserCommand({ registerBin: path.join(SYNAPSE_VENV, "bin/register_new_matrix_user"), user: o.user, admin: o.admin, keysFile: o.keysFile, baseUrl: o.baseUrl });
    const r = run("bash", ["-c", `set -euo pipefail\n${cmd}`], { input: o.password, timeoutMs: 60_000 });
    return { status: r.status, output: r.stdout + r.stderr };
}

/** A minimal Matrix client over fetch. */
export class MatrixClient {
    constructor(public readonly baseUrl: string, public accessToken?: string) {}

    async request(method: string, p: string, body?: unknown, auth = true): Promise<{ status: number; json: any }> {
        const headers: Record<string, string> = { "Content-Type": "application/json" };
        if (auth && this.accessToken) headers.Authorization = `Bearer ${this.accessToken}`;
        const r = await fetch(`${this.baseUrl}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
        const text = await r.text();
        let json: any;
        try {
            json = text ? JSON.parse(text) : undefined;
        } catch {
            json = { raw: text };
        }
        return { status: r.status, json };
    }

    async login(user: string, password: string): Promise<string> {
        const r = await this.request("POST", "/_matrix/client/v3/login", { type: "m.login.password", identifier: { type: "m.id.user", user }, password }, false);
        if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.json)}`);
        this.accessToken = r.json.access_token;
        return r.json.user_id;
    }

    async createRoom(name: string): Promise<string> {
        const r = await this.request("POST", "/_matrix/client/v3/createRoom", { name, preset: "private_chat" });
        if (r.status !== 200) throw new Error(`createRoom failed: ${r.status} ${JSON.stringify(r.json)}`);
        return r.json.room_id;
    }

    async sendText(roomId: string, body: string): Promise<string> {
        const txn = `t${Date.now()}${Math.random().toString(36).slice(2)}`;
        const r = await this.request("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`, { msgtype: "m.text", body });
        if (r.status !== 200) throw new Error(`send failed: ${r.status} ${JSON.stringify(r.json)}`);
        return r.json.event_id;
    }

    async sync(timeoutMs = 0): Promise<any> {
        const r = await this.request("GET", `/_matrix/client/v3/sync?timeout=${timeoutMs}`);
        if (r.status !== 200) throw new Error(`sync failed: ${r.status} ${JSON.stringify(r.json)}`);
        return r.json;
    }
}
