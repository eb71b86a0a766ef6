/** matrix-maas public API. */
export * from "./tokens";
export * from "./config";
export * from "./host";
export * from "./homeserver";
export * from "./dns";
export * from "./proxy";
export * from "./wellknown";
export * from "./adminui";
export * from "./deployment";
export * as render from "./render";
