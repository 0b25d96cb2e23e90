package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/codegen"
	"github.com/falcoc/falcoc/compiler/plan"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/compiler/selection"
	"github.com/falcoc/falcoc/runtime/config"
	"github.com/falcoc/falcoc/runtime/containers"
	"github.com/falcoc/falcoc/runtime/engine"
	"github.com/falcoc/falcoc/runtime/event"
	"github.com/falcoc/falcoc/runtime/extract"
	"github.com/falcoc/falcoc/runtime/kplan"
	"github.com/falcoc/falcoc/runtime/output"
	"github.com/falcoc/falcoc/runtime/state"
)

// RunOptions are falco-run's options; the flags follow Falco's where Falco
// has them.
type RunOptions struct {
	Rules         []string // -r
	Overrides     []string // -o key=value
	ConfigFile    string   // -c
	Trace         string   // -e
	ValidateFiles []string // -V
	List          bool     // -L
	Duration      int      // -M seconds
	Unbuffered    bool     // -U
	DisableTags   []string // -T
	EnableTags    []string // -t
	DisableRules  []string // -D
	ListFields    bool     // --list
	Version       bool     // --version
	Support       bool     // --support
	Capture       string   // --capture
	Prefilter     string   // --prefilter
	DryRun        bool     // --dry-run
	DescribeRule  string   // -l
	EnableSource  []string // --enable-source
	DisableSource []string // --disable-source
	// RingBufferSize is the live capture's ring buffer size in bytes, per
	// CPU (hidden flag --ring-buffer-size; 0: the default).
	RingBufferSize int
	// BatchDelay is how long the reader lets records gather once it has
	// caught up, so that a burst wakes it once rather than per record.
	BatchDelay time.Duration

	cfg         *config.Config
	plan        *plan.Plan // the kernel plan, live with --prefilter=full
	paths       []string   // the rule files, for a reload
	newEngine   func(*artifact.Artifact, []plan.Mask) (*engine.Engine, error)
	eng         *engine.Engine // the engine in use
	k8s         *k8sSource     // the Kubernetes audit webhook, nil when off
	out, errOut io.Writer
}

func newCmdRun(s Streams) *cobra.Command {
	o := &RunOptions{}
	c := newRoot(s, "falco-run", "Run Falco rules against the live kernel or a trace")
	c.Long = "Without -e, falco-run attaches its eBPF programs and watches the live kernel (root\n" +
		"needed). With -e FILE it replays a trace in falcoc's replay format. Rules come\n" +
		"from -r (rule files, folders, or one .fbc artifact) or falco.yaml's rules_files;\n" +
		"without either, the default rules embedded in the binary are used."
	c.Args = cobra.NoArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
	f := c.Flags()
	f.StringArrayVarP(&o.Rules, "rules", "r", nil, "rules file, folder of rules files, or .fbc artifact (repeatable)")
	f.StringArrayVarP(&o.Overrides, "option", "o", nil, "set a falco.yaml key: -o json_output=true (repeatable)")
	f.StringVarP(&o.ConfigFile, "config", "c", "", "configuration file (falco.yaml format)")
	f.StringVarP(&o.Trace, "trace", "e", "", "replay this trace file (falcoc replay format) instead of watching the kernel")
	f.StringArrayVarP(&o.ValidateFiles, "validate", "V", nil, "validate rules files and exit (repeatable)")
	f.BoolVarP(&o.List, "list-rules", "L", false, "list the loaded rules and exit")
	f.StringVarP(&o.DescribeRule, "describe-rule", "l", "", "show the name and description of this rule (JSON with json_output) and exit")
	f.IntVarP(&o.Duration, "duration", "M", 0, "stop after this many seconds (0: run until stopped)")
	f.BoolVarP(&o.Unbuffered, "unbuffered", "U", false, "do not buffer output")
	f.StringArrayVarP(&o.DisableTags, "disable-tag", "T", nil, "disable the rules with this tag (repeatable)")
	f.StringArrayVarP(&o.EnableTags, "enable-tag", "t", nil, "enable only the rules with this tag (repeatable)")
	f.StringArrayVarP(&o.DisableRules, "disable-rule", "D", nil, "disable the rules whose name contains this text, as Falco's -D (repeatable; * wildcards)")
	f.BoolVar(&o.ListFields, "list", false, "list the supported fields and exit")
	f.BoolVar(&o.Version, "version", false, "print version information and exit")
	f.BoolVar(&o.Support, "support", false, "print a JSON support document (version, kernel, features and fallbacks, configuration, rule files) and exit")
	f.StringVar(&o.Capture, "capture", "", "also record every processed event to FILE in the replay format")
	f.BoolVar(&o.DryRun, "dry-run", false, "load the configuration and the rules, set up the outputs, and exit without processing events")
	f.StringArrayVar(&o.EnableSource, "enable-source", nil, "enable only this event source: syscall or k8s_audit (repeatable; not with --disable-source)")
	f.StringArrayVar(&o.DisableSource, "disable-source", nil, "turn off this event source: syscall or k8s_audit (repeatable; not with --enable-source)")
	f.StringVar(&o.Prefilter, "prefilter", "full", "kernel prefilter mode: off, evttype (syscall number only, as Falco) or full")
	f.IntVar(&o.RingBufferSize, "ring-buffer-size", 0, "live capture ring buffer size in bytes per CPU, a power of two (tests)")
	f.DurationVar(&o.BatchDelay, "batch-delay", time.Millisecond, "live capture: let records gather this long once the reader has caught up (0: wake on every record)")
	_ = f.MarkHidden("ring-buffer-size")
	return c
}

// Complete loads the configuration and applies -o overrides.
func (o *RunOptions) Complete(cmd *cobra.Command) error {
	o.out, o.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
	cfg := config.Default()
	if o.ConfigFile != "" {
		c, err := config.Load(o.ConfigFile)
		if err != nil {
			return &ExitError{Code: 1, Err: err}
		}
		cfg = c
	}
	for _, kv := range o.Overrides {
		if err := cfg.Set(kv); err != nil {
			return &ExitError{Code: 1, Err: err}
		}
	}
	o.cfg = cfg
	return nil
}

// Validate checks the flags.
func (o *RunOptions) Validate() error {
	if !slices.Contains([]string{"off", "evttype", "full"}, o.Prefilter) {
		return &ExitError{Code: 1, Err: fmt.Errorf("--prefilter: %q is not one of off, evttype, full", o.Prefilter)}
	}
	if o.Duration < 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("-M: %d is negative", o.Duration)}
	}
	if o.Capture != "" && o.Trace != "" {
		return &ExitError{Code: 1, Err: errors.New("--capture records a live session; it cannot be used with -e")}
	}
	if _, err := o.cfg.MinPriority(); err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("priority: %w", err)}
	}
	if m := o.cfg.RuleMatching; m != "" && m != "first" && m != "all" {
		return &ExitError{Code: 1, Err: fmt.Errorf("rule_matching: %q is not first or all", m)}
	}
	if len(o.EnableSource) > 0 && len(o.DisableSource) > 0 {
		return &ExitError{Code: 1, Err: errors.New("--enable-source and --disable-source cannot be used together")}
	}
	for _, fl := range []struct {
		name string
		list []string
	}{{"--enable-source", o.EnableSource}, {"--disable-source", o.DisableSource}} {
		for _, src := range fl.list {
			if !slices.Contains(eventSources, src) {
				return &ExitError{Code: 1, Err: fmt.Errorf("%s: unknown event source %q (known: %s)", fl.name, src, strings.Join(eventSources, ", "))}
			}
		}
	}
	if len(o.DisableSource) > 0 && !slices.ContainsFunc(eventSources, o.sourceEnabled) {
		return &ExitError{Code: 1, Err: errors.New("--disable-source: every event source is disabled")}
	}
	return nil
}

// eventSources are the event sources falco-run has.
var eventSources = []string{"syscall", "k8s_audit"}

// sourceEnabled reports whether --enable-source / --disable-source leave
// src on. A trace file (-e) is read whatever they say, as Falco does.
func (o *RunOptions) sourceEnabled(src string) bool {
	if len(o.EnableSource) > 0 {
		return slices.Contains(o.EnableSource, src)
	}
	return !slices.Contains(o.DisableSource, src)
}

func (o *RunOptions) selection() *selection.Selection {
	// Falco's -D disables every rule whose name contains the text.
	var disable []string
	for _, d := range o.DisableRules {
		if !strings.Contains(d, "*") {
			d = "*" + d + "*"
		}
		disable = append(disable, d)
	}
	sel := &selection.Selection{
		DisabledRules: disable,
		DisabledTags:  o.DisableTags,
		EnabledTags:   o.EnableTags,
	}
	for _, r := range o.cfg.Rules {
		switch {
		case !r.Enable && r.Rule != "":
			sel.DisabledRules = append(sel.DisabledRules, r.Rule)
		case !r.Enable && r.Tag != "":
			sel.DisabledTags = append(sel.DisabledTags, r.Tag)
		case r.Enable && r.Rule != "":
			sel.EnabledRules = append(sel.EnabledRules, r.Rule)
		}
	}
	return sel
}

// Run does the work.
func (o *RunOptions) Run(ctx context.Context) error {
	switch {
	case o.Version:
		fmt.Fprintf(o.out, "falcoc version: %s\nEngine version: %s\n", codegen.CompilerVersion, artifact.EngineVersion)
		return nil
	case o.Support:
		return o.runSupport(o.out)
	case o.ListFields:
		fo := &FieldsOptions{out: o.out}
		return fo.Run()
	case len(o.ValidateFiles) > 0:
		return runFalcoValidate(o.out, o.ValidateFiles, o.cfg.JSONOutput)
	}
	paths := o.Rules
	if len(paths) == 0 && o.configNamesRules() {
		paths = o.cfg.RulesFiles
	}
	if (o.List || o.DescribeRule != "") && hasArtifact(paths) {
		// -L and -l on a compiled artifact list the artifact's rules.
		lr, err := loadRules(paths, o.selection(), o.errOut)
		if err != nil {
			return err
		}
		art := lr.Art
		if o.DescribeRule != "" {
			one := *art
			one.Rules = nil
			for _, r := range art.Rules {
				if r.Name == o.DescribeRule {
					one.Rules = append(one.Rules, r)
				}
			}
			if len(one.Rules) == 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("-l: rule %q is not loaded", o.DescribeRule)}
			}
			art = &one
		}
		return writeArtifactList(o.out, art, o.cfg.JSONOutput)
	}
	if o.DescribeRule != "" {
		srcs, err := embeddedSources()
		if len(paths) > 0 {
			srcs, err = rules.ReadPaths(paths)
		}
		if err != nil {
			return &ExitError{Code: 1, Err: err}
		}
		return runFalcoDescribe(o.out, o.errOut, srcs, o.selection(), o.cfg.JSONOutput, o.DescribeRule)
	}
	if o.List {
		if len(paths) == 0 {
			srcs, err := embeddedSources()
			if err != nil {
				return err
			}
			return runFalcoListSources(o.out, o.errOut, srcs, o.selection(), o.cfg.JSONOutput)
		}
		return runFalcoList(o.out, o.errOut, paths, o.selection(), o.cfg.JSONOutput)
	}
	lr, err := loadRules(paths, o.selection(), o.errOut)
	if err != nil {
		return err
	}

	minPrio, _ := o.cfg.MinPriority()
	outCfg := o.cfg.OutputsConfig()
	chans, err := o.cfg.Channels(config.ChannelOptions{Stdout: o.out, ProgramStdout: o.out, Unbuffered: o.Unbuffered})
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	outs, err := output.New(outCfg, chans...)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	defer outs.Close()

	tableOpts := &state.Options{}
	if o.Trace != "" {
		tableOpts.ProcReadsPerSec = -1 // a replay must not mix in this host's /proc
	}
	table := state.NewTable(tableOpts)
	var ctrs extract.ContainerLookup // stays a nil interface for replays
	var ruleMasks []plan.Mask
	var judge engine.Judge
	if o.Prefilter == "full" {
		// Only the rules the kernel plan keeps for an event are evaluated:
		// live, by the mask the kernel computed; in a replay, by the same
		// judgement applied in userspace.
		o.plan = lr.Art.Plan
		ruleMasks = planRuleMasks(o.plan, lr.Art)
		if o.plan != nil && o.Trace != "" {
			judge = kplan.NewUserJudge(o.plan)
		}
	}
	if o.Trace == "" {
		l := containers.New(nil)
		defer l.Close()
		ctrs = l
	}
	extras, err := compileExtras(o.cfg.AppendOutput)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	engOpts := engine.Options{
		Table:       table,
		Users:       state.NewUsers(nil),
		Containers:  ctrs,
		Hostname:    output.Hostname(),
		Sink:        outs,
		MatchAll:    o.cfg.RuleMatching == "all",
		MinPriority: minPrio,
		Judge:       judge,
		Extras:      extras,
	}
	o.newEngine = func(art *artifact.Artifact, masks []plan.Mask) (*engine.Engine, error) {
		opts := engOpts
		opts.RuleMasks = masks
		return engine.New(art, opts)
	}
	o.paths = paths
	eng, err := o.newEngine(lr.Art, ruleMasks)
	if err != nil {
		return err
	}
	o.eng = eng
	if o.DryRun {
		return outs.Close()
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(o.Duration)*time.Second)
		defer cancel()
	}
	if o.sourceEnabled("k8s_audit") {
		o.k8s, err = startK8sAudit(o.cfg, lr.Art, engine.SourceOptions{
			Hostname:    engOpts.Hostname,
			Sink:        outs,
			MatchAll:    engOpts.MatchAll,
			MinPriority: minPrio,
			Extras:      extras,
		}, o.errOut)
		if err != nil {
			return &ExitError{Code: 1, Err: err}
		}
	}
	defer o.k8s.stop()
	switch {
	case o.Trace == "" && !o.sourceEnabled("syscall"):
		// The syscall source is off: serve the other sources until a
		// signal or -M.
		if o.k8s == nil {
			err = &ExitError{Code: 1, Err: errors.New("--disable-source syscall: no other event source to run (load k8s_audit rules or the k8saudit plugin)")}
		} else {
			<-ctx.Done()
		}
	case o.Trace != "":
		err = o.replay(ctx, eng)
		if err == nil && o.k8s != nil {
			// The webhook is a source without an end: keep serving it
			// until a signal or -M, as Falco does with several sources.
			<-ctx.Done()
		}
	default:
		err = o.live(ctx, eng, lr)
	}
	if kerr := o.k8s.stop(); kerr != nil && err == nil {
		err = &ExitError{Code: 1, Err: kerr}
	}
	closeErr := outs.Close()
	o.printStats(o.eng, outs) // the engine last in use: a SIGHUP may have replaced it
	o.k8s.printStats(o.errOut)
	if err != nil {
		return err
	}
	return closeErr
}

// configNamesRules reports whether the user's configuration (a -c file or
// a -o rules_files override) names the rules files. Without either, the
// embedded default rules are used rather than Falco's default path.
func (o *RunOptions) configNamesRules() bool {
	if o.ConfigFile != "" {
		return true
	}
	for _, kv := range o.Overrides {
		if strings.HasPrefix(kv, "rules_file") {
			return true
		}
	}
	return false
}

// replay runs the engine over a trace file.
func (o *RunOptions) replay(ctx context.Context, eng *engine.Engine) error {
	f, err := os.Open(o.Trace)
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("-e: %w", err)}
	}
	defer f.Close()
	r := event.NewReader(f)
	var ev event.Event
	var pc event.ProcContext
	table := eng.Table()
	for ctx.Err() == nil {
		err := r.Next(&ev, &pc)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &ExitError{Code: 1, Err: fmt.Errorf("%s:%w", o.Trace, err)}
		}
		if pc.Present() {
			event.ApplyProc(table, ev.Ts, ev.Tid, ev.Pid, &pc)
		}
		eng.Process(&ev)
	}
	return nil
}

func (o *RunOptions) printStats(eng *engine.Engine, outs *output.Outputs) {
	s := eng.Stats()
	fmt.Fprintf(o.errOut, "Events processed: %d, rules evaluated: %d, matches: %d, alerts: %d",
		s.Events, s.Evaluated, s.Matches, s.Alerts)
	if s.EvalErrors > 0 {
		fmt.Fprintf(o.errOut, ", evaluation errors: %d", s.EvalErrors)
	}
	fmt.Fprintln(o.errOut)
	if m := eng.MatchesByEvent(); len(m) > 0 {
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		slices.Sort(names)
		fmt.Fprint(o.errOut, "Matches by event type:")
		for _, n := range names {
			fmt.Fprintf(o.errOut, " %s %d", n, m[n])
		}
		fmt.Fprintln(o.errOut)
	}
	for _, cs := range outs.Stats() {
		if cs.Dropped > 0 || cs.Failed > 0 {
			fmt.Fprintf(o.errOut, "Output %s: sent %d, dropped %d, failed %d", cs.Name, cs.Sent, cs.Dropped, cs.Failed)
			if cs.LastError != "" {
				fmt.Fprintf(o.errOut, " (last error: %s)", cs.LastError)
			}
			fmt.Fprintln(o.errOut)
		}
	}
}
