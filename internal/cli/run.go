package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/falcoc/falcoc/bpf"
	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/codegen"
	"github.com/falcoc/falcoc/compiler/rules"
	"github.com/falcoc/falcoc/compiler/selection"
	"github.com/falcoc/falcoc/runtime/agent"
	"github.com/falcoc/falcoc/runtime/config"
	"github.com/falcoc/falcoc/runtime/containers"
	"github.com/falcoc/falcoc/runtime/grpcapi"
	"github.com/falcoc/falcoc/runtime/output"
	"github.com/falcoc/falcoc/runtime/replay"
	"github.com/falcoc/falcoc/runtime/replay/dump"
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
	ListFields    string   // --list[=SOURCE]; listAll for every source
	ListEvents    bool     // --list-events
	Markdown      bool     // --markdown
	NamesOnly     bool     // -N
	AllEvents     bool     // -A
	PrintIgnored  bool     // -i
	PidFile       string   // -P
	PluginInfo    string   // --plugin-info
	Version       bool     // --version
	Support       bool     // --support
	Capture       string   // --capture
	Dump          bool     // --dump
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
	f.StringVarP(&o.Trace, "trace", "e", "", "replay this trace file (a libscap .scap capture, gzip or not, or the falcoc replay format) instead of watching the kernel")
	f.StringArrayVarP(&o.ValidateFiles, "validate", "V", nil, "validate rules files and exit (repeatable)")
	f.BoolVarP(&o.List, "list-rules", "L", false, "list the loaded rules and exit")
	f.StringVarP(&o.DescribeRule, "describe-rule", "l", "", "show the name and description of this rule (JSON with json_output) and exit")
	f.IntVarP(&o.Duration, "duration", "M", 0, "stop after this many seconds (0: run until stopped)")
	f.BoolVarP(&o.Unbuffered, "unbuffered", "U", false, "do not buffer output")
	f.StringArrayVarP(&o.DisableTags, "disable-tag", "T", nil, "disable the rules with this tag (repeatable)")
	f.StringArrayVarP(&o.EnableTags, "enable-tag", "t", nil, "enable only the rules with this tag (repeatable)")
	f.StringArrayVarP(&o.DisableRules, "disable-rule", "D", nil, "disable the rules whose name contains this text, as Falco's -D (repeatable; * wildcards)")
	f.StringVar(&o.ListFields, "list", "", "list the supported fields and exit; --list=SOURCE lists one source's (syscall or k8s_audit)")
	f.Lookup("list").NoOptDefVal = listAll
	f.BoolVar(&o.ListEvents, "list-events", false, "list the events falcoc knows, with their parameters, and exit")
	f.BoolVar(&o.Markdown, "markdown", false, "with --list or --list-events, print Markdown")
	f.BoolVarP(&o.NamesOnly, "names-only", "N", false, "with --list, print only the field names")
	f.BoolVarP(&o.AllEvents, "all-events", "A", false, "monitor all events, also those ignored by default (falcoc always captures the syscalls its rules name: accepted for Falco's sake)")
	f.BoolVarP(&o.PrintIgnored, "print-ignored-events", "i", false, "print the syscalls ignored by default (see -A) and exit")
	f.StringVarP(&o.PidFile, "pidfile", "P", "", "write the process id to this file")
	f.StringVar(&o.PluginInfo, "plugin-info", "", "print what falcoc provides for this plugin (container, k8saudit: built in) and exit")
	f.BoolVar(&o.Version, "version", false, "print version information and exit")
	f.BoolVar(&o.Support, "support", false, "print a JSON support document (version, kernel, features and fallbacks, configuration, rule files) and exit")
	f.StringVar(&o.Capture, "capture", "", "also record every processed event to FILE: a libscap capture when FILE ends in .scap, else the replay format")
	f.BoolVar(&o.Dump, "dump", false, "with -e: print the trace's events, one line each (evt.num evt.time evt.cpu proc.name (thread.tid) evt.dir evt.type evt.args), and exit")
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
	if o.ConfigFile == "" {
		// Falco's default, when it exists; FALCOC_DEFAULT_CONFIG moves
		// it ("" for none).
		def, ok := os.LookupEnv("FALCOC_DEFAULT_CONFIG")
		if !ok {
			def = config.DefaultPath
		}
		if def != "" {
			if _, err := os.Stat(def); err == nil {
				o.ConfigFile = def
			}
		}
	}
	cfg, err := loadConfig(o.ConfigFile, o.Overrides)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	o.cfg = cfg
	// Falco's spelling of -e (issue 13): engine.kind=replay with
	// engine.replay.capture_file.
	if cfg.Engine.Kind == "replay" && o.Trace == "" {
		if cfg.Engine.Replay.CaptureFile == "" {
			return &ExitError{Code: 1, Err: errors.New("engine.kind=replay needs engine.replay.capture_file")}
		}
		o.Trace = cfg.Engine.Replay.CaptureFile
	}
	o.warnConfig()
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
	if o.Capture != "" && o.Trace != "" && !replay.IsScap(o.Capture) {
		return &ExitError{Code: 1, Err: errors.New("--capture records a live session; with -e only a .scap capture can be written")}
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

// Run runs the mode the flags ask for: an informational one (--version,
// --support, --list, -V, -L, -l), or the agent with its sources (live or
// replay, the k8s audit webhook, or none for --dry-run).
func (o *RunOptions) Run(ctx context.Context) error {
	switch {
	case o.Version:
		fmt.Fprintf(o.out, "falcoc version: %s\nEngine version: %s\n", codegen.CompilerVersion, artifact.EngineVersion)
		return nil
	case o.Support:
		return o.runSupport(o.out)
	case o.ListFields != "":
		fo := &FieldsOptions{out: o.out, NamesOnly: o.NamesOnly, Markdown: o.Markdown}
		if o.ListFields != listAll {
			fo.Source = o.ListFields
		}
		if fo.Source != "" && !slices.Contains(eventSources, fo.Source) {
			return &ExitError{Code: 1, Err: fmt.Errorf("--list: unknown event source %q (known: %s)", fo.Source, strings.Join(eventSources, ", "))}
		}
		return fo.Run()
	case o.ListEvents:
		return writeEventList(o.out, o.Markdown)
	case o.PrintIgnored:
		return writeIgnoredEvents(o.out)
	case o.PluginInfo != "":
		return writePluginInfo(o.out, o.PluginInfo)
	case len(o.ValidateFiles) > 0:
		return runFalcoValidate(o.out, o.ValidateFiles, o.cfg.JSONOutput)
	case o.Dump:
		return o.runDump(ctx)
	}
	paths := o.rulePaths()
	if o.List || o.DescribeRule != "" {
		return o.runList(paths)
	}
	lr, err := loadRules(paths, o.selection(), o.errOut)
	if err != nil {
		return err
	}
	opts, err := o.agentOptions(lr.Art, paths)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	defer opts.Outputs.Close()
	if o.cfg.WatchConfigFiles && !o.DryRun {
		trigger := make(chan struct{}, 1)
		opts.ReloadTrigger = trigger
		stop := o.watchFiles(paths, trigger)
		defer stop()
	}
	a, err := agent.New(opts)
	if err != nil {
		return err
	}
	if o.PidFile != "" && !o.DryRun {
		if err := os.WriteFile(o.PidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return &ExitError{Code: 1, Err: fmt.Errorf("-P: %w", err)}
		}
	}
	return a.Run(ctx)
}

// rulePaths returns the rule files: -r, else falco.yaml's rules_files when
// the configuration names them, else none (the embedded rules).
func (o *RunOptions) rulePaths() []string {
	if len(o.Rules) == 0 && o.configNamesRules() {
		return o.cfg.RulesFiles
	}
	return o.Rules
}

// runList implements -L and -l: the rules of the rule files (or the
// embedded ones), or of a compiled artifact.
func (o *RunOptions) runList(paths []string) error {
	if hasArtifact(paths) {
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
	srcs, err := embeddedSources()
	if len(paths) > 0 {
		srcs, err = rules.ReadPaths(paths)
	}
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	if o.DescribeRule != "" {
		return runFalcoDescribe(o.out, o.errOut, srcs, o.selection(), o.cfg.JSONOutput, o.DescribeRule)
	}
	return runFalcoListSources(o.out, o.errOut, srcs, o.selection(), o.cfg.JSONOutput)
}

// agentOptions maps the flags and falco.yaml to the agent's options for
// art, compiled from paths: the outputs, the engine's settings, the
// sources, and the reload of the rule files.
func (o *RunOptions) agentOptions(art *artifact.Artifact, paths []string) (agent.Options, error) {
	minPrio, _ := o.cfg.MinPriority()
	chans, err := o.cfg.Channels(config.ChannelOptions{Stdout: o.out, ProgramStdout: o.out, Unbuffered: o.Unbuffered,
		GRPCVersion: grpcVersion(), Log: o.errOut})
	if err != nil {
		return agent.Options{}, err
	}
	extras, err := compileExtras(o.cfg.AppendOutput)
	if err != nil {
		return agent.Options{}, err
	}
	outsCfg := o.cfg.OutputsConfig()
	outsCfg.Log, outsCfg.Hostname = o.errOut, output.Hostname()
	outs, err := output.New(outsCfg, chans...)
	if err != nil {
		return agent.Options{}, err
	}
	opts := agent.Options{
		Rules: art,
		Reload: func() (*artifact.Artifact, error) {
			if o.cfg.WatchConfigFiles && o.ConfigFile != "" {
				// The configuration may have changed: its rules files
				// and rule selection apply; other settings at restart.
				cfg, err := loadConfig(o.ConfigFile, o.Overrides)
				if err != nil {
					return nil, err
				}
				o.cfg = cfg
				paths = o.rulePaths()
			}
			lr, err := loadRules(paths, o.selection(), o.errOut)
			if err != nil {
				return nil, err
			}
			return lr.Art, nil
		},
		Trace:          o.Trace,
		Syscall:        o.Trace != "" || o.sourceEnabled("syscall"),
		DryRun:         o.DryRun,
		Duration:       time.Duration(o.Duration) * time.Second,
		Prefilter:      prefilterMode(o.Prefilter),
		RingBufferSize: o.RingBufferSize,
		BatchDelay:     o.BatchDelay,
		Capture:        o.Capture,
		Outputs:        outs,
		MatchAll:       o.cfg.RuleMatching == "all",
		MinPriority:    minPrio,
		Extras:         extras,
		Hostname:       output.Hostname(),
		MaxThreads:     o.cfg.FalcoLibs.ThreadTableSize,
		Log:            o.errOut,
	}
	opts.HostRoot = os.Getenv("HOST_ROOT")
	ctrs := &containers.Options{}
	for i, p := range o.cfg.Plugins {
		if p.Name == config.ContainerPlugin {
			if err := ctrs.ApplyInitConfig(p.InitConfig, fmt.Sprintf("plugins[%d].init_config", i)); err != nil {
				return agent.Options{}, err
			}
		}
	}
	opts.Containers = ctrs
	if err := o.observeOptions(&opts, paths); err != nil {
		return agent.Options{}, err
	}
	if o.sourceEnabled("k8s_audit") {
		plugin, index, load := o.cfg.K8sAudit()
		opts.K8sAudit = &agent.K8sAuditOptions{Plugin: plugin, Index: index, Load: load, Replay: o.Trace != ""}
	}
	return opts, nil
}

// grpcVersion is what the gRPC version service answers.
func grpcVersion() grpcapi.VersionInfo {
	return grpcapi.VersionInfo{Version: strings.TrimPrefix(codegen.CompilerVersion, "falcoc "), EngineVersion: artifact.EngineVersion}
}

func prefilterMode(s string) bpf.Mode {
	switch s {
	case "off":
		return bpf.ModeOff
	case "evttype":
		return bpf.ModeEvttype
	}
	return bpf.ModeFull
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

// runDump prints the events of the -e trace (--dump, issue 13).
func (o *RunOptions) runDump(ctx context.Context) error {
	if o.Trace == "" {
		return &ExitError{Code: 1, Err: errors.New("--dump needs a trace: -e FILE")}
	}
	src, err := replay.Open(o.Trace)
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("-e: %w", err)}
	}
	defer src.Close()
	n, err := dump.Dump(ctx, o.out, src)
	if s := src.Summary(); s != "" {
		fmt.Fprintln(o.errOut, s)
	}
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	fmt.Fprintf(o.errOut, "Events: %d\n", n)
	return nil
}
