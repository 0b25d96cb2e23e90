package config

import (
	"fmt"
	"io"
	"time"

	"github.com/prometheus/common/model"

	"github.com/falcoc/falcoc/runtime/grpcapi"
	"github.com/falcoc/falcoc/runtime/output"
)

// Config is the part of falco.yaml that falcoc uses. The yaml tags are the
// falco.yaml keys.
type Config struct {
	// RulesFiles lists rule files and directories, in load order
	// (rules_files; the legacy rules_file is an alias).
	RulesFiles []string `yaml:"rules_files"`

	JSONOutput                      bool `yaml:"json_output"`
	JSONIncludeOutputProperty       bool `yaml:"json_include_output_property"`
	JSONIncludeMessageProperty      bool `yaml:"json_include_message_property"`
	JSONIncludeOutputFieldsProperty bool `yaml:"json_include_output_fields_property"`
	JSONIncludeTagsProperty         bool `yaml:"json_include_tags_property"`
	TimeFormatISO8601               bool `yaml:"time_format_iso_8601"`

	// Priority is the minimum rule priority that is loaded ("debug").
	Priority string `yaml:"priority"`
	// RuleMatching is "first" or "all".
	RuleMatching string `yaml:"rule_matching"`

	BufferedOutputs bool         `yaml:"buffered_outputs"`
	OutputsQueue    OutputsQueue `yaml:"outputs_queue"`
	// OutputTimeout is in milliseconds.
	OutputTimeout int `yaml:"output_timeout"`

	StdoutOutput  StdoutOutput  `yaml:"stdout_output"`
	FileOutput    FileOutput    `yaml:"file_output"`
	ProgramOutput ProgramOutput `yaml:"program_output"`
	SyslogOutput  SyslogOutput  `yaml:"syslog_output"`
	HTTPOutput    HTTPOutput    `yaml:"http_output"`
	GRPC          GRPC          `yaml:"grpc"`
	GRPCOutput    GRPCOutput    `yaml:"grpc_output"`

	AppendOutput []AppendOutput `yaml:"append_output"`
	// Rules enables and disables loaded rules by name or tag, in order.
	Rules []RuleSelection `yaml:"rules"`

	BaseSyscalls BaseSyscalls `yaml:"base_syscalls"`

	LogLevel  string `yaml:"log_level"`
	LogStderr bool   `yaml:"log_stderr"`
	LogSyslog bool   `yaml:"log_syslog"`

	Engine Engine `yaml:"engine"`

	// FalcoLibs holds falco_libs; falcoc reads thread_table_size.
	FalcoLibs FalcoLibs `yaml:"falco_libs"`

	// LoadPlugins names the plugins to load (load_plugins). falcoc has no
	// plugin loader: "k8saudit" turns on its built-in Kubernetes audit
	// webhook; other names are accepted and ignored.
	LoadPlugins []string `yaml:"load_plugins"`
	// Plugins are the plugins entries; falcoc reads the k8saudit entry's
	// open_params.
	Plugins []Plugin `yaml:"plugins"`

	// ConfigFiles are the files and folders included after this file
	// (config_files); see [Load].
	ConfigFiles []ConfigFile `yaml:"config_files"`
	// WatchConfigFiles reloads the rules when a configuration or rules
	// file changes (watch_config_files).
	WatchConfigFiles bool `yaml:"watch_config_files"`

	Webserver Webserver `yaml:"webserver"`
	Metrics   Metrics   `yaml:"metrics"`

	// Warnings are the keys that were ignored: unknown to Falco, or
	// Falco's but not supported by falcoc. Each key appears once.
	Warnings []Warning `yaml:"-"`
	// Files are the configuration files read, the main one first.
	Files []string `yaml:"-"`
}

// ConfigFile is one config_files entry: a file or a folder (its regular
// files in name order) merged with Strategy: "append" (the default:
// sequences are extended, other keys replaced), "override" (top-level
// keys replaced) or "add-only" (only keys not yet set).
type ConfigFile struct {
	Path     string `yaml:"path"`
	Strategy string `yaml:"strategy"`
}

// Webserver is webserver: the health, versions and metrics endpoints.
type Webserver struct {
	Enabled bool `yaml:"enabled"`
	// Threadiness is accepted for Falco's sake; Go's server has no fixed
	// thread pool.
	Threadiness        int    `yaml:"threadiness"`
	ListenPort         int    `yaml:"listen_port"`
	ListenAddress      string `yaml:"listen_address"`
	K8sHealthzEndpoint string `yaml:"k8s_healthz_endpoint"`
	// PrometheusMetricsEnabled serves /metrics (with metrics.enabled).
	PrometheusMetricsEnabled bool `yaml:"prometheus_metrics_enabled"`
	SSLEnabled               bool `yaml:"ssl_enabled"`
	// SSLCertificate is one PEM file with the certificate and its key.
	SSLCertificate string `yaml:"ssl_certificate"`
}

// Metrics is metrics.
type Metrics struct {
	Enabled bool `yaml:"enabled"`
	// Interval is a Prometheus duration ("1h", "30s", "1m30s"), between
	// two metrics snapshot alerts.
	Interval                   string `yaml:"interval"`
	OutputRule                 bool   `yaml:"output_rule"`
	RulesCountersEnabled       bool   `yaml:"rules_counters_enabled"`
	ResourceUtilizationEnabled bool   `yaml:"resource_utilization_enabled"`
	StateCountersEnabled       bool   `yaml:"state_counters_enabled"`
	KernelEventCountersEnabled bool   `yaml:"kernel_event_counters_enabled"`
	ConvertMemoryToMB          bool   `yaml:"convert_memory_to_mb"`
}

// IntervalDuration parses Interval.
func (m *Metrics) IntervalDuration() (time.Duration, error) {
	d, err := model.ParseDuration(m.Interval)
	if err != nil {
		return 0, fmt.Errorf("metrics.interval: %w", err)
	}
	return time.Duration(d), nil
}

// Plugin is one plugins entry.
type Plugin struct {
	Name        string     `yaml:"name"`
	LibraryPath string     `yaml:"library_path"`
	InitConfig  InitConfig `yaml:"init_config"`
	OpenParams  string     `yaml:"open_params"`
}

// InitConfig is a plugin's init_config: its scalar values as text, by key.
// Falco accepts a mapping or a JSON object in a string; both are read.
// Nested values are stored under their dotted paths, and lists as JSON
// arrays: the container plugin's
// engines: {docker: {enabled: true, sockets: [/var/run/docker.sock]}}
// gives "engines.docker.enabled" = "true" and
// "engines.docker.sockets" = `["/var/run/docker.sock"]`.
type InitConfig map[string]string

// ContainerPlugin is the name of Falco's container plugin, whose fields
// falcoc provides natively; its init_config names the runtimes' sockets.
const ContainerPlugin = "container"

// Plugin returns the plugins entry with the given name, or nil.
func (c *Config) Plugin(name string) *Plugin {
	for i := range c.Plugins {
		if c.Plugins[i].Name == name {
			return &c.Plugins[i]
		}
	}
	return nil
}

// K8sAuditPlugin is the name of the Kubernetes audit log plugin, whose
// source falcoc provides natively.
const K8sAuditPlugin = "k8saudit"

// K8sAudit returns the k8saudit plugin entry and its index in plugins
// (-1 and a nil entry when there is none), and whether load_plugins asks
// for it.
func (c *Config) K8sAudit() (p *Plugin, index int, load bool) {
	index = -1
	for i := range c.Plugins {
		if c.Plugins[i].Name == K8sAuditPlugin {
			p, index = &c.Plugins[i], i
			break
		}
	}
	for _, n := range c.LoadPlugins {
		if n == K8sAuditPlugin {
			load = true
		}
	}
	return p, index, load
}

// DefaultQueueCapacity is each output queue's bound when no falco.yaml
// sets outputs_queue.capacity.
const DefaultQueueCapacity = 16384

// OutputsQueue is outputs_queue.
type OutputsQueue struct {
	// Capacity bounds each output's queue; 0 means no bound, as in Falco.
	// Without a falco.yaml falcoc bounds it (DefaultQueueCapacity), so a
	// dead output cannot grow memory without limit; Falco's shipped file
	// says 0.
	Capacity int `yaml:"capacity"`
}

// StdoutOutput is stdout_output.
type StdoutOutput struct {
	Enabled bool `yaml:"enabled"`
}

// FileOutput is file_output.
type FileOutput struct {
	Enabled   bool   `yaml:"enabled"`
	KeepAlive bool   `yaml:"keep_alive"`
	Filename  string `yaml:"filename"`
}

// ProgramOutput is program_output.
type ProgramOutput struct {
	Enabled   bool   `yaml:"enabled"`
	KeepAlive bool   `yaml:"keep_alive"`
	Program   string `yaml:"program"`
}

// SyslogOutput is syslog_output.
type SyslogOutput struct {
	Enabled bool `yaml:"enabled"`
}

// HTTPOutput is http_output.
type HTTPOutput struct {
	Enabled                bool   `yaml:"enabled"`
	URL                    string `yaml:"url"`
	UserAgent              string `yaml:"user_agent"`
	Insecure               bool   `yaml:"insecure"`
	CACert                 string `yaml:"ca_cert"`
	CABundle               string `yaml:"ca_bundle"`
	CAPath                 string `yaml:"ca_path"`
	MTLS                   bool   `yaml:"mtls"`
	ClientCert             string `yaml:"client_cert"`
	ClientKey              string `yaml:"client_key"`
	Echo                   bool   `yaml:"echo"`
	CompressUploads        bool   `yaml:"compress_uploads"`
	KeepAlive              bool   `yaml:"keep_alive"`
	MaxConsecutiveTimeouts int    `yaml:"max_consecutive_timeouts"`
	// CustomHeaders is falcoc's own key: headers added to every request.
	CustomHeaders Headers `yaml:"custom_headers"`
}

// AppendOutput is one append_output entry: for rules matching Match, add
// ExtraOutput to the text and ExtraFields to output_fields.
type AppendOutput struct {
	Match           AppendMatch  `yaml:"match"`
	ExtraOutput     string       `yaml:"extra_output"`
	ExtraFields     []ExtraField `yaml:"extra_fields"`
	SuggestedOutput bool         `yaml:"suggested_output"`
}

// AppendMatch selects rules; empty members match everything.
type AppendMatch struct {
	Source string   `yaml:"source"`
	Rule   string   `yaml:"rule"`
	Tags   []string `yaml:"tags"`
}

// ExtraField is one append_output.extra_fields entry: either a bare field
// name ("proc.name", Format empty) or "name: format string".
type ExtraField struct {
	Name   string
	Format string
}

// RuleSelection is one entry of the rules: list, e.g.
// "- disable: {rule: '*'}" or "- enable: {tag: network}".
type RuleSelection struct {
	Enable bool
	// Rule is a rule name (may contain wildcards); exclusive with Tag.
	Rule string
	Tag  string
}

// BaseSyscalls is base_syscalls.
type BaseSyscalls struct {
	CustomSet []string `yaml:"custom_set"`
	Repair    bool     `yaml:"repair"`
	All       bool     `yaml:"all"`
}

// Engine is engine (only the kind and the replay file matter to falcoc).
type Engine struct {
	Kind   string       `yaml:"kind"`
	Replay EngineReplay `yaml:"replay"`
}

// FalcoLibs is falco_libs.
type FalcoLibs struct {
	// ThreadTableSize bounds the threads the process table keeps; a new
	// thread beyond it evicts one (counted). 0: falcoc's default,
	// state.DefaultMaxThreads (131072; Falco's default is 262144).
	ThreadTableSize int `yaml:"thread_table_size"`
}

// EngineReplay is engine.replay.
type EngineReplay struct {
	CaptureFile string `yaml:"capture_file"`
}

// Default returns Falco 0.44's defaults (its shipped falco.yaml).
func Default() *Config {
	return &Config{
		RulesFiles: []string{
			"/etc/falco/falco_rules.yaml",
			"/etc/falco/falco_rules.local.yaml",
			"/etc/falco/rules.d",
		},
		JSONIncludeOutputProperty:       true,
		JSONIncludeOutputFieldsProperty: true,
		JSONIncludeTagsProperty:         true,
		Priority:                        "debug",
		RuleMatching:                    "first",
		OutputTimeout:                   2000,
		OutputsQueue:                    OutputsQueue{Capacity: DefaultQueueCapacity},
		StdoutOutput:                    StdoutOutput{Enabled: true},
		FileOutput:                      FileOutput{Filename: "./events.txt"},
		ProgramOutput: ProgramOutput{
			Program: "jq '{text: .output}' | curl -d @- -X POST https://hooks.slack.com/services/XXX",
		},
		SyslogOutput: SyslogOutput{Enabled: true},
		HTTPOutput: HTTPOutput{
			UserAgent:              output.DefaultHTTPUserAgent,
			CAPath:                 "/etc/falco/certs/",
			ClientCert:             "/etc/falco/certs/client/client.crt",
			ClientKey:              "/etc/falco/certs/client/client.key",
			MaxConsecutiveTimeouts: 5,
		},
		WatchConfigFiles: true,
		Webserver: Webserver{
			// Falco's shipped falco.yaml enables the server on 0.0.0.0;
			// without a configuration falcoc keeps it off, and on
			// loopback when only enabled.
			ListenPort:         8765,
			ListenAddress:      "127.0.0.1",
			K8sHealthzEndpoint: "/healthz",
			SSLCertificate:     "/etc/falco/falco.pem",
		},
		Metrics: Metrics{
			Interval:                   "1h",
			OutputRule:                 true,
			RulesCountersEnabled:       true,
			ResourceUtilizationEnabled: true,
			StateCountersEnabled:       true,
			KernelEventCountersEnabled: true,
			ConvertMemoryToMB:          true,
		},
		GRPC:      defaultGRPC(),
		LogLevel:  "info",
		LogStderr: true,
		LogSyslog: true,
		Engine:    Engine{Kind: "modern_ebpf"},
		// The container plugin's fields after every syscall rule's output.
		AppendOutput: []AppendOutput{{SuggestedOutput: true}},
	}
}

// MinPriority returns the parsed priority threshold.
func (c *Config) MinPriority() (output.Priority, error) {
	return output.ParsePriority(c.Priority)
}

// FormatOptions returns the alert formatting options.
func (c *Config) FormatOptions() output.Options {
	return output.Options{
		TimeFormatISO8601:               c.TimeFormatISO8601,
		JSONIncludeOutputProperty:       c.JSONIncludeOutputProperty,
		JSONIncludeMessageProperty:      c.JSONIncludeMessageProperty,
		JSONIncludeOutputFieldsProperty: c.JSONIncludeOutputFieldsProperty,
		JSONIncludeTagsProperty:         c.JSONIncludeTagsProperty,
	}
}

// OutputsConfig returns the [output.New] configuration (format, JSON, queue
// capacity, close timeout from output_timeout).
func (c *Config) OutputsConfig() output.Config {
	f := c.FormatOptions()
	return output.Config{
		Format:        &f,
		JSON:          c.JSONOutput,
		QueueCapacity: c.OutputsQueue.Capacity,
		CloseTimeout:  time.Duration(c.OutputTimeout) * time.Millisecond,
	}
}

// ChannelOptions carries what the channels need besides falco.yaml.
type ChannelOptions struct {
	// Stdout is where stdout_output writes (os.Stdout in production).
	Stdout io.Writer
	// ProgramStdout receives program_output's output (Falco shares its
	// own stdout); nil discards it.
	ProgramStdout io.Writer
	// Unbuffered forces unbuffered stdout (-U).
	Unbuffered bool
	// SyslogAddress overrides /dev/log.
	SyslogAddress string
	// GRPCVersion is what the gRPC version service answers.
	GRPCVersion grpcapi.VersionInfo
	// Log receives the gRPC server's address (stderr); nil discards it.
	Log io.Writer
}

// Channels builds the enabled output channels.
func (c *Config) Channels(o ChannelOptions) ([]output.Channel, error) {
	var chans []output.Channel
	if c.StdoutOutput.Enabled {
		if o.Stdout == nil {
			return nil, fmt.Errorf("stdout_output: no stdout writer")
		}
		chans = append(chans, output.NewStdout(o.Stdout, c.BufferedOutputs && !o.Unbuffered))
	}
	if c.SyslogOutput.Enabled {
		chans = append(chans, output.NewSyslog(output.SyslogConfig{Address: o.SyslogAddress}))
	}
	if c.FileOutput.Enabled {
		chans = append(chans, output.NewFile(output.FileConfig{
			Filename: c.FileOutput.Filename, KeepAlive: c.FileOutput.KeepAlive}))
	}
	if c.ProgramOutput.Enabled {
		chans = append(chans, output.NewProgram(output.ProgramConfig{
			Program: c.ProgramOutput.Program, KeepAlive: c.ProgramOutput.KeepAlive,
			Stdout: o.ProgramStdout, Stderr: o.ProgramStdout}))
	}
	if c.HTTPOutput.Enabled {
		ch, err := output.NewHTTP(c.httpConfig(o))
		if err != nil {
			return nil, fmt.Errorf("http_output: %w", err)
		}
		chans = append(chans, ch)
	}
	// Last: it listens, and nothing after it can fail.
	g, err := c.grpcChannel(o)
	if err != nil {
		return nil, err
	}
	if g != nil {
		chans = append(chans, g)
	}
	return chans, nil
}
