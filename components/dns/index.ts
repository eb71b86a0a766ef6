export * from "./dns-records";
