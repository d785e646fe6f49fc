/** Stele's version: the CLI's `--version` and User-Agent (the same as package.json's; a unit test checks). */
export const STELE_VERSION = '0.1.0';
