// Package output formats Falco alerts and delivers them to output channels.
//
// The formatting half ([FormatText], [FormatJSON], [AppendText]) turns one
// [Alert] into the exact bytes Falco 0.44 prints: the text line
// "<time>: <Priority> <message>" and the key-sorted JSON object with
// output_fields. It knows nothing about how field values were extracted: the
// caller hands over typed [Value]s. Formatting appends to a caller-owned
// buffer and allocates nothing in steady state.
//
// The delivery half ([Outputs]) puts one bounded queue between the engine and
// every [Channel] (stdout, file, program, syslog, http). [Outputs.Send] never
// blocks: when a channel's queue is full the alert is dropped for that channel
// and counted. A failing channel is counted and reported and never holds up the
// others.
package output
