/** Type tokens: package name, module `index`, one constant per component (defined once). */
export const TOKENS = {
    RemoteFile: "matrix-maas:index:RemoteFile",
    Service: "matrix-maas:index:Service",
    Packages: "matrix-maas:index:Packages",
    Homeserver: "matrix-maas:index:Homeserver",
    MatrixDeployment: "matrix-maas:index:MatrixDeployment",
} as const;
