// The Pulumi program: read config -> validate -> MatrixDeployment -> exports.
import { runProgram } from "./components/program";

export = runProgram();
