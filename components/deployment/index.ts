export * from "./deployment";
