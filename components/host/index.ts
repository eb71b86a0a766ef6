export * from "./host";
export * from "./remote-file";
export * from "./service";
export * from "./packages";
