export * from "./well-known-delegation";
