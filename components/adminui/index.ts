export * from "./admin-ui";
