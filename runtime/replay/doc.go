// Package replay reads and writes falcoc's replay format: one JSON object
// per line, an event with its parameters and, optionally, the process
// context a trace needs to stand alone (docs/replay-format.md). falco-run
// -e reads it ([Reader]) and --capture writes it ([Writer]); the golden
// tests and benchmarks replay through it.
//
// The [Reader] decodes without allocating per event in steady state: a
// fast decoder for the common shapes (replay_fast.go), and the general one
// (encoding/json) for the rest, with the same results (randomized tests
// compare the two). Readers and Writers are not safe for concurrent use.
package replay
