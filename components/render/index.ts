/** Pure renderers: typed settings in, file contents out. No Pulumi import anywhere below. */
export * from "./types";
export * from "./format";
export * from "./signing-key";
export * from "./synapse";
export * from "./synapse-settings";
export * from "./dns";
export * from "./nginx";
export * from "./wellknown";
export * from "./admin-ui";
export * from "./release-fetch";
export * from "./synapse-install";
