// Converts openapi/openapi.yaml to JSON (stdout), for embedding in the binary.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
const doc = parse(readFileSync(process.argv[2], "utf8"));
process.stdout.write(JSON.stringify(doc));
