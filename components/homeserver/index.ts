export * from "./homeserver";
