// Package agent is falco-run's runtime: sources → engine → outputs. An
// [Agent] owns the syscall engine and its state tables, the event sources
// (the live kernel or a trace replay, and the Kubernetes audit webhook),
// the rule reload on SIGHUP, and the counters printed at the end. Every
// mode of falco-run (live, replay, k8s audit only, dry run) is the same
// agent with different sources; internal/cli only maps flags and
// falco.yaml to [Options].
//
// # One event, from the ring buffer to an alert
//
//	bpf.Capture → bpf ring reader (bpf/ring.go): a record per CPU ring, merged in time order
//	live.Source.Next (runtime/live/source.go, decode.go): record → event.Event, cgroup class sync
//	liveSource.Next (this package, source.go): the kernel's comm copied into the state (proc.name)
//	Agent.runSyscall (agent.go): reload swap between events, --capture tap, then
//	engine.Engine.Process (runtime/engine): state updates (state.Updater → state.Table),
//	    candidate rules by event type and the kernel's clause mask, VM evaluation (runtime/vm)
//	engine emit → output.Outputs.Send (runtime/output): bounded queue per channel → stdout, file, ...
//
// A replay takes the same path from replaySource.Next (a trace line and its
// process context) on. The webhook is a second source with its own
// goroutine and VM ([k8saudit.Pipeline]), writing to the same outputs.
//
// # Web server and metrics
//
// With [Options.Web] the agent starts the web server (runtime/web) before
// its sources: /healthz answers "not ready" until the live capture
// delivered its first event, the replay's trace is open, or the webhook
// alone listens. /metrics and the metrics.interval snapshot alert read a
// snapshot of the counters (runtime/metrics) gathered off the event loop:
// the engines' atomics (kept over reloads), the alerts counted by rule on
// their way to the outputs (every source), the outputs' and the webhook's
// counters, the kernel's counters, and the state table's, which the event
// loop publishes every few thousand events.
//
// # Lifecycle
//
// [New] builds the engine; [Agent.Run] runs the sources until they end,
// the context is done or the duration passes, then stops the webhook and
// prints the counters. The agent does not link the rule compiler: a
// reload calls [Options.Reload], which the caller implements. An Agent is
// run once, from one goroutine.
package agent
