package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/falcoc/falcoc/runtime/output"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "falco.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		edit func(c *Config) // applied to Default() to get the expected config
	}{
		{name: "empty", yaml: "", edit: func(*Config) {}},
		{name: "null document", yaml: "~\n", edit: func(*Config) {}},
		{
			name: "outputs and formats",
			yaml: `
json_output: true
json_include_output_property: false
json_include_message_property: yes
json_include_output_fields_property: false
json_include_tags_property: off
time_format_iso_8601: true
priority: WARNING
rule_matching: all
buffered_outputs: true
outputs_queue:
  capacity: 0x10
output_timeout: 500
stdout_output:
  enabled: false
file_output:
  enabled: true
  filename: /var/log/falco.txt
program_output: {enabled: true, keep_alive: true, program: "cat"}
syslog_output: {enabled: false}
http_output:
  enabled: true
  url: http://localhost:2801/
  keep_alive: true
  some_future_key: 1
log_level: debug
log_stderr: false
engine:
  kind: replay
  replay: {capture_file: /tmp/x.scap}
  modern_ebpf: {cpus_for_each_buffer: 2}
unknown_top_level: {a: [1, 2]}
`,
			edit: func(c *Config) {
				c.JSONOutput = true
				c.JSONIncludeOutputProperty = false
				c.JSONIncludeMessageProperty = true
				c.JSONIncludeOutputFieldsProperty = false
				c.JSONIncludeTagsProperty = false
				c.TimeFormatISO8601 = true
				c.Priority = "WARNING"
				c.RuleMatching = "all"
				c.BufferedOutputs = true
				c.OutputsQueue.Capacity = 16
				c.OutputTimeout = 500
				c.StdoutOutput.Enabled = false
				c.FileOutput = FileOutput{Enabled: true, Filename: "/var/log/falco.txt"}
				c.ProgramOutput = ProgramOutput{Enabled: true, KeepAlive: true, Program: "cat"}
				c.SyslogOutput.Enabled = false
				c.HTTPOutput.Enabled = true
				c.HTTPOutput.URL = "http://localhost:2801/"
				c.HTTPOutput.KeepAlive = true
				c.LogLevel = "debug"
				c.LogStderr = false
				c.Engine = Engine{Kind: "replay", Replay: EngineReplay{CaptureFile: "/tmp/x.scap"}}
			},
		},
		{
			name: "rules, append_output, base_syscalls",
			yaml: `
rules_files:
  - /etc/falco/falco_rules.yaml
  - rules.d
rules:
  - disable: {rule: "*"}
  - enable: {tag: network}
  - enable:
      rule: Sample shell
append_output:
  - match:
      source: syscall
      tags: [network]
    extra_output: "on %container.name"
    extra_fields:
      - proc.name
      - wide_name: "%proc.name %proc.pid"
  - extra_output: "!"
    suggested_output: true
base_syscalls:
  custom_set: [clone, execve, "!kill"]
  repair: true
`,
			edit: func(c *Config) {
				c.RulesFiles = []string{"/etc/falco/falco_rules.yaml", "rules.d"}
				c.Rules = []RuleSelection{{Rule: "*"}, {Enable: true, Tag: "network"}, {Enable: true, Rule: "Sample shell"}}
				c.AppendOutput = []AppendOutput{
					{
						Match:       AppendMatch{Source: "syscall", Tags: []string{"network"}},
						ExtraOutput: "on %container.name",
						ExtraFields: []ExtraField{{Name: "proc.name"}, {Name: "wide_name", Format: "%proc.name %proc.pid"}},
					},
					{ExtraOutput: "!", SuggestedOutput: true},
				}
				c.BaseSyscalls = BaseSyscalls{CustomSet: []string{"clone", "execve", "!kill"}, Repair: true}
			},
		},
		{
			name: "legacy rules_file",
			yaml: "rules_file: [a.yaml]\n",
			edit: func(c *Config) { c.RulesFiles = []string{"a.yaml"} },
		},
		{
			name: "rules_files wins over rules_file",
			yaml: "rules_file: [a.yaml]\nrules_files: [b.yaml]\n",
			edit: func(c *Config) { c.RulesFiles = []string{"b.yaml"} },
		},
		{
			name: "single string list, empty list, anchors",
			yaml: "rules_files: only.yaml\nbase_syscalls: {custom_set: }\nx: &q true\njson_output: *q\n",
			edit: func(c *Config) {
				c.RulesFiles = []string{"only.yaml"}
				c.BaseSyscalls.CustomSet = []string{}
				c.JSONOutput = true
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load(writeFile(t, tc.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			tc.edit(want)
			// Warnings and Files: TestLoadWarnings and TestConfigFiles.
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Config{}, "Warnings", "Files")); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"bool", "stdout_output:\n  enabled: maybe\n", `:2:12: stdout_output.enabled: expected a boolean, got "maybe"`},
		{"int", "outputs_queue:\n  capacity: lots\n", `:2:13: outputs_queue.capacity: expected an integer, got "lots"`},
		{"negative", "outputs_queue: {capacity: -1}\n", `:1:27: outputs_queue.capacity: must not be negative, got -1`},
		{"priority", "priority: severe\n", `:1:11: priority: unknown priority "severe"`},
		{"log level", "log_level: chatty\n", `:1:12: log_level: unknown priority "chatty"`},
		{"rule_matching", "rule_matching: some\n", `:1:16: rule_matching: expected first or all, got "some"`},
		{"mapping for scalar", "json_output: {a: 1}\n", `:1:14: json_output: expected a scalar, got a mapping`},
		{"scalar for mapping", "file_output: yes\n", `:1:14: file_output: expected a mapping, got "yes"`},
		{"list item", "rules_files:\n  - a\n  - [b]\n", `:3:5: rules_files[1]: expected a scalar, got a sequence`},
		{"list of structs", "append_output: x\n", `:1:16: append_output: expected a sequence, got "x"`},
		{"rules selection verb", "rules:\n  - remove: {rule: x}\n", `:2:5: rules[0]: expected enable or disable, got "remove"`},
		{"rules selection both", "rules:\n  - enable: {rule: x, tag: y}\n", `:2:13: rules[0].enable: expected exactly one of rule or tag`},
		{"rules selection key", "rules:\n  - enable: {name: x}\n", `:2:14: rules[0].enable: expected rule or tag, got "name"`},
		{"extra field", "append_output:\n  - extra_fields: [{a: [1]}]\n", `:2:24: append_output[0].extra_fields[0].a: expected a format string, got a sequence`},
		{"syntax", "json_output: true\n  bad: [\n", `:2: mapping values are not allowed in this context`},
		{"top level list", "- a\n", `:1:1: expected a mapping, got a sequence`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.yaml)
			_, err := Load(p, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(p+tc.want, err.Error()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "none.yaml")
	_, err := Load(p, nil)
	if diff := cmp.Diff("read config: open "+p+": no such file or directory", err.Error()); diff != "" {
		t.Error(diff)
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name string
		kvs  []string
		edit func(c *Config)
	}{
		{"bool", []string{"json_output=true"}, func(c *Config) { c.JSONOutput = true }},
		{"nested", []string{"file_output.enabled=true", "file_output.filename=/tmp/e.txt"},
			func(c *Config) { c.FileOutput.Enabled, c.FileOutput.Filename = true, "/tmp/e.txt" }},
		{"index replaces", []string{"rules_files[0]=x.yaml"},
			func(c *Config) { c.RulesFiles[0] = "x.yaml" }},
		{"index at length appends", []string{"rules_files[3]=x.yaml"},
			func(c *Config) { c.RulesFiles = append(c.RulesFiles, "x.yaml") }},
		{"append", []string{"rules_files[]=x.yaml", "rules_files[]=y.yaml"},
			func(c *Config) { c.RulesFiles = append(c.RulesFiles, "x.yaml", "y.yaml") }},
		{"inline list", []string{"rules_files=[a.yaml, b.yaml]"},
			func(c *Config) { c.RulesFiles = []string{"a.yaml", "b.yaml"} }},
		{"legacy alias", []string{"rules_file=a.yaml"},
			func(c *Config) { c.RulesFiles = []string{"a.yaml"} }},
		{"string that is not yaml", []string{"program_output.program=jq '{text: .output}' | curl -d @- x"},
			func(c *Config) { c.ProgramOutput.Program = "jq '{text: .output}' | curl -d @- x" }},
		{"star", []string{"rules[].disable.rule=*"},
			func(c *Config) { c.Rules = []RuleSelection{{Rule: "*"}} }},
		{"selection then edit", []string{"rules[]={enable: {tag: network}}", "rules[0].disable.rule=x"},
			func(c *Config) { c.Rules = []RuleSelection{{Rule: "x"}} }},
		{"append_output: [] appends after the default entry", []string{"append_output[].extra_output=hi", "append_output[1].extra_fields[]=proc.name", "append_output[1].match.tags[]=t"},
			func(c *Config) {
				c.AppendOutput = []AppendOutput{{SuggestedOutput: true},
					{ExtraOutput: "hi", ExtraFields: []ExtraField{{Name: "proc.name"}}, Match: AppendMatch{Tags: []string{"t"}}}}
			}},
		{"append_output[0] edits the default entry", []string{"append_output[0].suggested_output=false"},
			func(c *Config) { c.AppendOutput = []AppendOutput{{}} }},
		{"int", []string{"outputs_queue.capacity=100"}, func(c *Config) { c.OutputsQueue.Capacity = 100 }},
		{"empty string", []string{"http_output.url="}, func(c *Config) {}},
		{"unknown and unsupported recorded", []string{"webserver.enabled=true", "engine.kmod.buf_size_preset=4", "no_such.key=1", "engine.kmod.drop_failed_exit=true"}, func(c *Config) {
			c.Webserver.Enabled = true
			c.Warnings = []Warning{
				{Source: "-o engine.kmod.buf_size_preset=4", Key: "engine.kmod", Known: true},
				{Source: "-o no_such.key=1", Key: "no_such"},
			}
		}},
		{"metrics and webserver", []string{"metrics.enabled=true", "metrics.interval=5s", "webserver.listen_port=0", "webserver.ssl_enabled=true", "webserver.ssl_certificate=/x.pem"}, func(c *Config) {
			c.Metrics.Enabled, c.Metrics.Interval = true, "5s"
			c.Webserver.ListenPort, c.Webserver.SSLEnabled, c.Webserver.SSLCertificate = 0, true, "/x.pem"
		}},
		{"config_files", []string{"config_files=a.yaml", "config_files[]={path: d, strategy: override}"}, func(c *Config) {
			c.ConfigFiles = []ConfigFile{{Path: "a.yaml", Strategy: "append"}, {Path: "d", Strategy: "override"}}
		}},
		{"plugin init_config", []string{"plugins[0].init_config.maxEventSize=4", "plugins[0].init_config.useAsync=false"}, func(c *Config) {
			c.Plugins = []Plugin{{InitConfig: InitConfig{"maxEventSize": "4", "useAsync": "false"}}}
		}},
		{"plugins", []string{"load_plugins=[k8saudit, json]", "plugins[0].name=k8saudit", "plugins[0].open_params=http://:1234/audit"}, func(c *Config) {
			c.LoadPlugins = []string{"k8saudit", "json"}
			c.Plugins = []Plugin{{Name: "k8saudit", OpenParams: "http://:1234/audit"}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Default()
			for _, kv := range tc.kvs {
				if err := got.Set(kv); err != nil {
					t.Fatal(err)
				}
			}
			want := Default()
			tc.edit(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct{ kv, want string }{
		{"json_output", "-o json_output: missing '=' in key=value"},
		{"json_output=abc", `-o json_output=abc: json_output: expected a boolean, got "abc"`},
		{"outputs_queue.capacity=-5", `-o outputs_queue.capacity=-5: outputs_queue.capacity: must not be negative, got -5`},
		{"priority=loud", `-o priority=loud: priority: unknown priority "loud"`},
		{"rules_files[5]=x", `-o rules_files[5]=x: rules_files: index 5 out of range (length 3)`},
		{"json_output[0]=x", `-o json_output[0]=x: json_output: is not a list`},
		{"json_output.x=1", `-o json_output.x=1: json_output: is not a mapping`},
		{"rules_files[x]=a", `-o rules_files[x]=a: bad key "rules_files[x]": bad index "x"`},
		{"rules_files[0=a", `-o rules_files[0=a: bad key "rules_files[0": expected name[N] or name[]`},
		{"a..b=1", `-o a..b=1: bad key "a..b": empty name`},
		{"=1", `-o =1: empty key`},
		{"rules[].drop.rule=x", `-o rules[].drop.rule=x: rules[0]: expected enable or disable, got "drop"`},
		{"file_output=[1]", `-o file_output=[1]: file_output: expected a mapping, got a sequence`},
	}
	for _, tc := range tests {
		t.Run(tc.kv, func(t *testing.T) {
			c := Default()
			err := c.Set(tc.kv)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(Default(), c); diff != "" {
				t.Errorf("failed Set changed the config (-want +got)\n%s", diff)
			}
		})
	}
}

func TestOutputsFromConfig(t *testing.T) {
	c := Default()
	for _, kv := range []string{
		"json_output=true", "json_include_message_property=true", "time_format_iso_8601=true",
		"outputs_queue.capacity=7", "output_timeout=1500", "syslog_output.enabled=false",
		"file_output.enabled=true", "file_output.filename=" + filepath.Join(t.TempDir(), "e.txt"),
	} {
		if err := c.Set(kv); err != nil {
			t.Fatal(err)
		}
	}
	oc := c.OutputsConfig()
	wantFmt := output.Options{
		TimeFormatISO8601: true, JSONIncludeOutputProperty: true, JSONIncludeMessageProperty: true,
		JSONIncludeOutputFieldsProperty: true, JSONIncludeTagsProperty: true,
	}
	if diff := cmp.Diff(wantFmt, *oc.Format); diff != "" {
		t.Errorf("format (-want +got)\n%s", diff)
	}
	if oc.QueueCapacity != 7 || !oc.JSON || oc.CloseTimeout.Milliseconds() != 1500 {
		t.Errorf("OutputsConfig = %+v", oc)
	}
	var buf bytes.Buffer
	chans, err := c.Channels(ChannelOptions{Stdout: &buf})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ch := range chans {
		names = append(names, ch.Name())
	}
	if diff := cmp.Diff([]string{"stdout", "file"}, names); diff != "" {
		t.Errorf("channels (-want +got)\n%s", diff)
	}
	if p, err := c.MinPriority(); err != nil || p != output.PriorityDebug {
		t.Errorf("MinPriority = %v, %v", p, err)
	}

	c.HTTPOutput.Enabled = true
	_, err = c.Channels(ChannelOptions{Stdout: &buf})
	if diff := cmp.Diff("http_output: http output: url is empty", err.Error()); diff != "" {
		t.Error(diff)
	}
}

func TestK8sAudit(t *testing.T) {
	type got struct {
		Plugin *Plugin
		Index  int
		Load   bool
	}
	tests := []struct {
		name, yaml string
		want       got
	}{
		{"none", ``, got{nil, -1, false}},
		{"Falco's k8saudit entry", `
load_plugins: [k8saudit, json]
plugins:
  - name: json
    library_path: libjson.so
    init_config: ""
  - name: k8saudit
    library_path: libk8saudit.so
    init_config:
      maxEventSize: 262144
      webhookMaxBatchSize: 12582912
    open_params: "http://:9765/k8s-audit"
`, got{&Plugin{Name: "k8saudit", LibraryPath: "libk8saudit.so", OpenParams: "http://:9765/k8s-audit",
			InitConfig: InitConfig{"maxEventSize": "262144", "webhookMaxBatchSize": "12582912"}}, 1, true}},
		{"init_config as a JSON string", `
plugins:
  - name: k8saudit
    init_config: '{"webhookMaxBatchSize": 1024, "sslCertificate": "/etc/falco/cert.pem", "nested": {"a": 1}}'
`, got{&Plugin{Name: "k8saudit", InitConfig: InitConfig{"webhookMaxBatchSize": "1024", "sslCertificate": "/etc/falco/cert.pem", "nested.a": "1"}}, 0, false}},
		{"entry not loaded", `
load_plugins: []
plugins:
  - name: k8saudit
    open_params: "http://:1/x"
`, got{&Plugin{Name: "k8saudit", OpenParams: "http://:1/x"}, 0, false}},
		{"loaded without an entry", `load_plugins: [k8saudit]`, got{nil, -1, true}},
	}
	for _, tc := range tests {
		c := Default()
		if err := c.Apply("falco.yaml", []byte(tc.yaml)); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var g got
		g.Plugin, g.Index, g.Load = c.K8sAudit()
		if d := cmp.Diff(tc.want, g); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestInitConfigErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"plugins:\n  - name: k8saudit\n    init_config: '{bad'\n",
			"falco.yaml:3:18: plugins[0].init_config: expected a mapping or a JSON object: invalid character 'b' looking for beginning of object key string"},
		{"plugins:\n  - name: k8saudit\n    init_config: [1, 2]\n",
			"falco.yaml:3:18: plugins[0].init_config: expected a mapping or a JSON object, got a sequence"},
	}
	for _, tc := range tests {
		err := Default().Apply("falco.yaml", []byte(tc.yaml))
		if err == nil || err.Error() != tc.want {
			t.Errorf("Apply(%q) = %v\nwant %s", tc.yaml, err, tc.want)
		}
	}
}

func TestContainerPluginInitConfig(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{"mapping", `
plugins:
  - name: container
    library_path: libcontainer.so
    init_config:
      label_max_len: 100
      engines:
        docker: {enabled: true, sockets: ['/var/run/docker.sock']}
        cri:
          enabled: true
          sockets: ['/run/crio/crio.sock', '/run/containerd/containerd.sock']
        lxc: {enabled: false}
`},
		{"JSON string", `
plugins:
  - name: container
    library_path: libcontainer.so
    init_config: '{"label_max_len": 100, "engines": {"docker": {"enabled": true, "sockets": ["/var/run/docker.sock"]},
      "cri": {"enabled": true, "sockets": ["/run/crio/crio.sock", "/run/containerd/containerd.sock"]}, "lxc": {"enabled": false}}}'
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			if err := c.Apply("falco.yaml", []byte(tc.yaml)); err != nil {
				t.Fatal(err)
			}
			p := c.Plugin(ContainerPlugin)
			if p == nil {
				t.Fatal("no container plugin entry")
			}
			want := InitConfig{
				"label_max_len":          "100",
				"engines.docker.enabled": "true",
				"engines.docker.sockets": `["/var/run/docker.sock"]`,
				"engines.cri.enabled":    "true",
				"engines.cri.sockets":    `["/run/crio/crio.sock","/run/containerd/containerd.sock"]`,
				"engines.lxc.enabled":    "false",
			}
			if diff := cmp.Diff(want, p.InitConfig); diff != "" {
				t.Errorf("init_config (-want +got):\n%s", diff)
			}
			if c.Plugin("k8saudit") != nil {
				t.Error("Plugin(k8saudit) found an entry")
			}
		})
	}
}
