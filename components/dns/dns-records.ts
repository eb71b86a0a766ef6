import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";
import { TOKENS } from "../tokens";
import { DnsName, DnsPlanInput, DnsRecordSpec, outsideZone, planDnsRecords } from "../render/dns";

/** One name and the addresses of the host that serves it. */
export interface DnsRecordsNameArgs {
    /** FQDN. */
    fqdn: string;
    /** IPv6 (AAAA) and IPv4 (A) addresses. */
    addresses: string[];
}

export interface DnsRecordsArgs {
    /** Cloudflare zone id. Default: looked up by `zoneName`. */
    zoneId?: pulumi.Input<string>;
    /** Zone name: looked up when no zoneId is given; names outside it are not managed (see `unmanagedRecords`). */
    zoneName?: string;
    /** The Matrix domain (SRV owner name). */
    matrixDomain: string;
    /** Homeserver FQDN (SRV target). */
    homeserverDomain: string;
    /** Names to publish. */
    names: DnsRecordsNameArgs[];
    /** IPv4 of a v4-to-v6 proxy: adds an A record per name. Default: none. */
    ipv4ProxyAddress?: string;
    /** TTL seconds (1 = automatic). Default 300. */
    ttl?: number;
    /** Publish `_matrix-fed._tcp`. Default false. */
    srvFederation?: boolean;
    /** Also publish the deprecated `_matrix._tcp`. Default false. */
    srvLegacy?: boolean;
    /** SRV priority. Default 10. */
    srvPriority?: number;
    /** SRV weight. Default 5. */
    srvWeight?: number;
    /** SRV port. Default 443. */
    srvPort?: number;
    /** Target of `_matrix-identity._tcp`. Default: none. */
    identitySrvTarget?: string;
    /** Providers by package name (`cloudflare`). Default: the ambient configuration. */
    providers?: { cloudflare?: cloudflare.Provider };
}

/** Cloudflare A/AAAA (and SRV) records for a deployment; never CNAME, never proxied. */
export class DnsRecords extends pulumi.ComponentResource {
    /** `type name content` of every record, for review in previews. */
    public readonly records: pulumi.Output<string[]>;
    /** Records outside the zone (e.g. on a customer's own domain) that someone else must publish. */
    public readonly unmanagedRecords: pulumi.Output<string[]>;

    constructor(name: string, args: DnsRecordsArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TOKENS.DnsRecords, name, {}, opts);
        if (!args.zoneId && !args.zoneName) throw new pulumi.ResourceError("DnsRecords: give zoneId or zoneName", this);
        const names: DnsName[] = args.names.map((n) => ({ fqdn: n.fqdn, addresses: [...n.addresses] }));
        const plan: DnsPlanInput = {
            names,
            ipv4ProxyAddress: args.ipv4ProxyAddress,
            ttl: args.ttl ?? 300,
            matrixDomain: args.matrixDomain,
            homeserverDomain: args.homeserverDomain,
            srv: {
                federation: args.srvFederation ?? false,
                legacy: args.srvLegacy ?? false,
                priority: args.srvPriority ?? 10,
                weight: args.srvWeight ?? 5,
                port: args.srvPort ?? 443,
                identityTarget: args.identitySrvTarget,
            },
            zoneName: args.zoneName,
        };
        const specs = planDnsRecords(plan);
        const invokeOpts = { parent: this, provider: args.providers?.cloudflare };
        const zoneId = args.zoneId ? pulumi.output(args.zoneId) : cloudflare.getZoneOutput({ filter: { name: args.zoneName } }, invokeOpts).id;
        const resOpts = { parent: this, provider: args.providers?.cloudflare };
        for (const r of specs) {
            new cloudflare.DnsRecord(
                `${name}-${r.role}`,
                {
                    zoneId,
                    name: r.name,
                    type: r.type,
                    content: r.content,
                    data: r.srv ? { priority: r.srv.priority, weight: r.srv.weight, port: r.srv.port, target: r.srv.target } : undefined,
                    ttl: r.ttl,
                    proxied: r.type === "SRV" ? undefined : r.proxied,
                    comment: "managed by matrix-maas",
                },
                resOpts,
            );
        }
        const show = (r: DnsRecordSpec) => `${r.type} ${r.name} ${r.content ?? `${r.srv!.priority} ${r.srv!.weight} ${r.srv!.port} ${r.srv!.target}`}`;
        this.records = pulumi.output(specs.map(show));
        this.unmanagedRecords = pulumi.output(outsideZone(plan).map(show));
        this.registerOutputs({ records: this.records, unmanagedRecords: this.unmanagedRecords });
    }
}
