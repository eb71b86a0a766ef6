export * from "./reverse-proxy";
