// `bin/bucketflow`: the operator's command line (bucket rules, targets, deliveries); its subcommands are declared in
// src/operator/commands.ts.
import { runCli } from '../operator/commands';

void runCli(process.argv.slice(2));
