/**
 * Which DNS records a deployment needs, as plain data. Matrix names are A/AAAA (never CNAME: names
 * carrying delegation must not be aliases) and DNS-only (a proxied record breaks federation).
 */
import { isIP } from "node:net";

export const DNS_RECORD_TYPES = { A: "A", AAAA: "AAAA", SRV: "SRV" } as const;

export interface DnsName {
    /** FQDN, e.g. matrix.example.org. */
    fqdn: string;
    /** Addresses of the host serving it (IPv6 and/or IPv4). */
    addresses: string[];
}

export interface DnsPlanInput {
    names: DnsName[];
    /** IPv4 of a v4-to-v6 proxy: an A record for every name. */
    ipv4ProxyAddress?: string;
    ttl: number;
    matrixDomain: string;
    homeserverDomain: string;
    srv: { federation: boolean; legacy: boolean; priority: number; weight: number; port: number; identityTarget?: string };
    /** When given, records outside this zone are left out (listed by `outsideZone`). */
    zoneName?: string;
}

export interface DnsRecordSpec {
    /** Stable resource role, e.g. `aaaa-matrix-example-org-0`. */
    role: string;
    name: string;
    type: "A" | "AAAA" | "SRV";
    content?: string;
    srv?: { priority: number; weight: number; port: number; target: string };
    ttl: number;
    proxied: false;
}

const slug = (s: string) => s.replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

/** True when `name` is the zone apex or below it. */
export function inZone(name: string, zone: string): boolean {
    return name === zone || name.endsWith(`.${zone}`);
}

/** Records that belong in another zone (e.g. a customer's own domain): the operator publishes them. */
export function outsideZone(i: DnsPlanInput): DnsRecordSpec[] {
    const zone = i.zoneName;
    return zone ? planAll(i).filter((r) => !inZone(r.name, zone)) : [];
}

export function planDnsRecords(i: DnsPlanInput): DnsRecordSpec[] {
    const zone = i.zoneName;
    return zone ? planAll(i).filter((r) => inZone(r.name, zone)) : planAll(i);
}

function planAll(i: DnsPlanInput): DnsRecordSpec[] {
    const out: DnsRecordSpec[] = [];
    const seen = new Set<string>();
    const add = (r: DnsRecordSpec) => {
        const key = `${r.type} ${r.name} ${r.content ?? JSON.stringify(r.srv)}`;
        if (!seen.has(key)) {
            seen.add(key);
            out.push(r);
        }
    };
    for (const n of i.names) {
        const v6 = n.addresses.filter((a) => isIP(a) === 6).sort();
        const v4 = [...n.addresses.filter((a) => isIP(a) === 4), ...(i.ipv4ProxyAddress ? [i.ipv4ProxyAddress] : [])].sort();
        v6.forEach((a, k) => add({ role: `aaaa-${slug(n.fqdn)}-${k}`, name: n.fqdn, type: "AAAA", content: a, ttl: i.ttl, proxied: false }));
        [...new Set(v4)].forEach((a, k) => add({ role: `a-${slug(n.fqdn)}-${k}`, name: n.fqdn, type: "A", content: a, ttl: i.ttl, proxied: false }));
    }
    const srv = { priority: i.srv.priority, weight: i.srv.weight, port: i.srv.port, target: i.homeserverDomain };
    if (i.srv.federation) add({ role: "srv-matrix-fed", name: `_matrix-fed._tcp.${i.matrixDomain}`, type: "SRV", srv, ttl: i.ttl, proxied: false });
    if (i.srv.legacy) add({ role: "srv-matrix-legacy", name: `_matrix._tcp.${i.matrixDomain}`, type: "SRV", srv, ttl: i.ttl, proxied: false });
    if (i.srv.identityTarget) {
        add({ role: "srv-matrix-identity", name: `_matrix-identity._tcp.${i.matrixDomain}`, type: "SRV", srv: { ...srv, port: 443, target: i.srv.identityTarget }, ttl: i.ttl, proxied: false });
    }
    return out;
}
