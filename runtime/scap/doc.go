// Package scap reads and writes libscap capture files (.scap), the format
// of Falco's replay engine, its rule capture feature and sysdig.
//
// A capture is a sequence of blocks (pcapng-like: type, total length,
// body, total length again): a section header, then the tables that
// describe the machine at the start (machine info, interfaces, users,
// processes and their file descriptors), then one block per event. Files
// may be gzip-compressed; the [Reader] detects it.
//
// [Reader] parses blocks with bounded memory: every length is checked
// against what its block can hold and against a fixed maximum before
// anything is allocated, and an error names the byte offset (in the
// decompressed stream) of what is wrong. [Decoder] turns libscap events
// into the engine's [event.Event]: every event code of libscap's event
// table (ppme_table.go, generated from falcosecurity/libs) is decoded
// with libscap's parameter encodings; enter events are kept per thread
// and their parameters completed into the exit event, as libscap's
// capture converter does for old captures; PPM flag values are translated
// into the Linux values the engine uses. [Seed] fills the state's process
// and fd tables from the capture's tables so that proc.* and fd.* are
// right from the first event. [Writer] writes captures in the current
// format version (SHB 1.2, PL_V9, FDL_V2, UL_V2, EV_V2 blocks).
//
// Readers, Decoders and Writers are not safe for concurrent use.
package scap
