// Placeholder until the document generators land: creates the output directory only.
import fs from 'node:fs';
fs.mkdirSync(process.argv[2], { recursive: true });
