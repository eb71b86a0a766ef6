/** Type tokens: package name, module `index`, one constant per component (defined once). */
export const TOKENS = {
    RemoteFile: "matrix-maas:index:RemoteFile",
    Service: "matrix-maas:index:Service",
    Packages: "matrix-maas:index:Packages",
    Homeserver: "matrix-maas:index:Homeserver",
    ReverseProxy: "matrix-maas:index:ReverseProxy",
    WellKnownDelegation: "matrix-maas:index:WellKnownDelegation",
    DnsRecords: "matrix-maas:index:DnsRecords",
    ElementClient: "matrix-maas:index:ElementClient",
    TurnRelay: "matrix-maas:index:TurnRelay",
    AdminUi: "matrix-maas:index:AdminUi",
    MautrixBridge: "matrix-maas:index:MautrixBridge",
    DoublePuppet: "matrix-maas:index:DoublePuppet",
    IrcBridge: "matrix-maas:index:IrcBridge",
    Matterbridge: "matrix-maas:index:Matterbridge",
    DraupnirBot: "matrix-maas:index:DraupnirBot",
    MatrixDeployment: "matrix-maas:index:MatrixDeployment",
} as const;
