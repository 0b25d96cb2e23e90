package cli

import (
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/codegen"
	"github.com/falcoc/falcoc/runtime/agent"
	"github.com/falcoc/falcoc/runtime/config"
	"github.com/falcoc/falcoc/runtime/metrics"
	"github.com/falcoc/falcoc/runtime/web"
)

// listAll is --list's value when no source is given.
const listAll = "\x00all"

// FalcoVersion is the Falco release whose behaviour falco-run follows;
// /versions answers it as falco_version.
const FalcoVersion = "0.44.1"

// loadConfig reads the configuration file (none: the defaults), its
// config_files includes, then the -o overrides, as Falco does.
func loadConfig(path string, overrides []string) (*config.Config, error) {
	includes, err := config.ConfigFilesOverride(overrides)
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	if path != "" {
		if cfg, err = config.Load(path, includes); err != nil {
			return nil, err
		}
	} else if includes != nil {
		return nil, fmt.Errorf("-o config_files: no configuration file to include them in (give -c, or create %s)", config.DefaultPath)
	}
	for _, kv := range overrides {
		if err := cfg.Set(kv); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// warnConfig prints, once, the configuration keys that were ignored: the
// unknown ones one a line with their position, Falco's keys that falcoc
// does not support in one line.
func (o *RunOptions) warnConfig() {
	var unsupported []string
	for _, w := range o.cfg.Warnings {
		if w.Known {
			unsupported = append(unsupported, w.Key)
			continue
		}
		fmt.Fprintf(o.errOut, "falco-run: warning: %s\n", w)
	}
	if len(unsupported) > 0 {
		fmt.Fprintf(o.errOut, "falco-run: warning: Falco configuration keys falcoc does not support (ignored): %s\n",
			strings.Join(unsupported, ", "))
	}
}

// versionsDoc is the /versions document: Falco's keys that have a meaning
// here, with falcoc's own version beside the Falco release it follows (no
// driver, libs or plugin API versions: falcoc has none of them).
func versionsDoc() map[string]any {
	plugins := map[string]string{}
	for _, p := range builtinPlugins {
		plugins[p.name] = p.version
	}
	return map[string]any{
		"falco_version":         FalcoVersion,
		"falcoc_version":        strings.TrimPrefix(codegen.CompilerVersion, "falcoc "),
		"engine_version":        strings.Split(artifact.EngineVersion, ".")[1],
		"engine_version_semver": artifact.EngineVersion,
		// The event schema the catalog follows; there is no driver.
		"driver_schema_version": schemaVersion,
		// The plugins built in, at the version whose fields they provide.
		"plugin_versions": plugins,
	}
}

// observeOptions sets the web server, metrics and session info of opts
// from webserver.* and metrics.*.
func (o *RunOptions) observeOptions(opts *agent.Options, paths []string) error {
	opts.Info = agent.Info{
		Version:     strings.TrimPrefix(codegen.CompilerVersion, "falcoc "),
		ConfigFiles: o.cfg.Files,
		RulesFiles:  ruleFiles(paths),
	}
	m := o.cfg.Metrics
	if m.Enabled {
		iv, err := m.IntervalDuration()
		if err != nil {
			return err
		}
		if iv < 100*time.Millisecond {
			return fmt.Errorf("metrics.interval: %s is below 100ms", m.Interval)
		}
		opts.Metrics = &agent.MetricsOptions{
			Interval:   iv,
			OutputRule: m.OutputRule,
			Groups: metrics.Groups{
				Rules:     m.RulesCountersEnabled,
				Resources: m.ResourceUtilizationEnabled,
				State:     m.StateCountersEnabled,
				Kernel:    m.KernelEventCountersEnabled,
			},
			MemoryMB: m.ConvertMemoryToMB,
		}
	}
	ws := o.cfg.Webserver
	if !ws.Enabled || o.DryRun {
		return nil
	}
	if ws.ListenPort < 0 || ws.ListenPort > 65535 {
		return fmt.Errorf("webserver.listen_port: %d is not a port", ws.ListenPort)
	}
	if ws.PrometheusMetricsEnabled && !m.Enabled {
		fmt.Fprintln(o.errOut, "falco-run: warning: webserver.prometheus_metrics_enabled needs metrics.enabled: /metrics is not served")
	}
	opts.Web = &agent.WebOptions{
		Server: web.Options{
			Address:     net.JoinHostPort(ws.ListenAddress, strconv.Itoa(ws.ListenPort)),
			HealthzPath: ws.K8sHealthzEndpoint,
			TLS:         ws.SSLEnabled,
			CertFile:    ws.SSLCertificate,
		},
		Prometheus: ws.PrometheusMetricsEnabled,
		Versions:   versionsDoc(),
	}
	return nil
}

// ruleFiles expands rule paths to files (a folder's .yaml/.yml files).
func ruleFiles(paths []string) []string {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		ents, _ := os.ReadDir(p)
		for _, e := range ents {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
	}
	return out
}

// watchInterval is how often watch_config_files looks at the files.
const watchInterval = time.Second

// watchFiles implements watch_config_files: it polls the configuration
// files and the rule files (folders: their files) and sends on trigger
// when one changed, so that the agent reloads. stop ends it.
func (o *RunOptions) watchFiles(paths []string, trigger chan<- struct{}) (stop func()) {
	files := append(slices.Clone(o.cfg.Files), paths...)
	done := make(chan struct{})
	last := fingerprint(files)
	go func() {
		t := time.NewTicker(watchInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			fp := fingerprint(files)
			if fp == last {
				continue
			}
			last = fp
			fmt.Fprintln(o.errOut, "falco-run: a configuration or rules file changed (watch_config_files): reloading the rules")
			select {
			case trigger <- struct{}{}:
			default:
			}
		}
	}()
	return func() { close(done) }
}

// fingerprint hashes the names, sizes, times and contents' sizes of the
// files (and of the files in folders).
func fingerprint(paths []string) [32]byte {
	h := sha256.New()
	var add func(p string, depth int)
	add = func(p string, depth int) {
		st, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(h, "%s missing\n", p)
			return
		}
		fmt.Fprintf(h, "%s %d %d %v\n", p, st.Size(), st.ModTime().UnixNano(), st.IsDir())
		if st.IsDir() && depth == 0 {
			ents, _ := os.ReadDir(p)
			for _, e := range ents {
				add(filepath.Join(p, e.Name()), 1)
			}
		}
	}
	for _, p := range paths {
		add(p, 0)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
