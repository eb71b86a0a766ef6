export * from "./schema";
export * from "./load";
export * from "./edge";
export * from "./operations";
