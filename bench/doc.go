// Package bench holds auditship's benchmarks: micro-benchmarks of the whole
// per-line path (decode → map → schema) over generated platform lines, the
// bare JSON decode loop they are compared with, and redaction; the programs
// that generate data (gen), measure processes (measure), drive follow mode
// (follow) and load Elasticsearch without auditship (esload); and run.sh, the
// end-to-end harness behind `make bench`. BENCHMARKS.md at the repository
// root explains the numbers.
package bench
