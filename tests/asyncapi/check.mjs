// Parses each AsyncAPI document named on the command line with the official parser (and
// its Avro and Protobuf schema parsers, for those payloads); prints "<file>: valid" or the diagnostics,
// and exits non-zero when any document has an error.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";
import { AvroSchemaParser } from "@asyncapi/avro-schema-parser";
import { ProtoBuffSchemaParser } from "@asyncapi/protobuf-schema-parser";

const parser = new Parser();
parser.registerSchemaParser(AvroSchemaParser());
parser.registerSchemaParser(ProtoBuffSchemaParser());

let failed = false;
for (const file of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"));
  const errors = diagnostics.filter((d) => d.severity === 0);
  if (!document || errors.length > 0) {
    failed = true;
    console.log(`${file}: invalid`);
    for (const d of errors) console.log(`  ${d.code} at /${d.path.join("/")}: ${d.message}`);
  } else {
    console.log(`${file}: valid (${document.channels().length} channels, ${document.messages().length} messages)`);
  }
}
process.exit(failed ? 1 : 0);
