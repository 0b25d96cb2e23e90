// Package grpcapi serves Falco's gRPC output API: the falco.outputs service
// (sub, get) and the falco.version service, with the packages, names and
// field numbers of Falco's outputs.proto and version.proto (the generated
// code is in pb/), so that Falco's published clients work unchanged.
//
// A [Server] listens on a unix socket (no authentication, as Falco) or on
// TCP with mutual TLS, and is an [output.Channel]: falco-run's outputs
// hand it every alert through its own queue like any other output.
// Every sub stream receives every alert from the moment it subscribed. An
// alert raised while no sub stream is open is kept for get (a bounded
// backlog), which returns what was kept and ends: as in Falco, where sub
// and get drain one queue.
// Write never blocks on a client: a subscriber that cannot keep up, and a
// backlog that overflows, lose alerts, and [Server.Stats] counts them.
package grpcapi
