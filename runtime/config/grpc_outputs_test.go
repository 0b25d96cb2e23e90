package config

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/falcoc/falcoc/runtime/grpcapi"
	"github.com/falcoc/falcoc/runtime/output"
)

func TestGRPCAndHTTPKeys(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "falco.sock")
	p := writeFile(t, `
grpc:
  enabled: true
  bind_address: "unix://`+sock+`"
  threadiness: 4
grpc_output:
  enabled: true
http_output:
  enabled: true
  url: http://127.0.0.1:1/
  echo: true
  compress_uploads: true
  max_consecutive_timeouts: 2
  custom_headers:
    Authorization: Bearer abc
    X-Env: "prod"
`)
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantGRPC := GRPC{Enabled: true, BindAddress: "unix://" + sock, Threadiness: 4,
		PrivateKey: "/etc/falco/certs/server.key", CertChain: "/etc/falco/certs/server.crt", RootCerts: "/etc/falco/certs/ca.crt"}
	if diff := cmp.Diff(wantGRPC, c.GRPC); diff != "" {
		t.Errorf("grpc (-want +got)\n%s", diff)
	}
	if !c.GRPCOutput.Enabled {
		t.Error("grpc_output.enabled not read")
	}
	if err := c.Set("http_output.custom_headers.X-Other=1"); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	hc := c.httpConfig(ChannelOptions{Stdout: &stdout})
	if hc.Echo != &stdout || !hc.CompressUploads || hc.MaxConsecutiveTimeouts != 2 {
		t.Errorf("http config = %+v", hc)
	}
	if hc.Headers["X-Other"] != "1" {
		t.Errorf("headers after -o = %v", hc.Headers)
	}
	chans, err := c.Channels(ChannelOptions{Stdout: &stdout})
	if err != nil {
		t.Fatal(err)
	}
	o, err := output.New(c.OutputsConfig(), chans...)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ch := range chans {
		names = append(names, ch.Name())
	}
	if diff := cmp.Diff([]string{"stdout", "syslog", "http", "grpc"}, names); diff != "" {
		t.Errorf("channels (-want +got)\n%s", diff)
	}
	if s, ok := chans[3].(*grpcapi.Server); !ok || s.Addr() != "unix://"+sock || !s.WantsData() {
		t.Errorf("grpc channel = %#v", chans[3])
	}
	o.Close()
}

func TestGRPCAndHTTPKeyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"headers scalar", "http_output:\n  custom_headers: x\n", `:2:19: http_output.custom_headers: expected a mapping of header names to values, got "x"`},
		{"header list", "http_output:\n  custom_headers:\n    A: [1]\n", `:3:8: http_output.custom_headers.A: expected a header value, got a sequence`},
		{"threadiness", "grpc:\n  threadiness: many\n", `:2:16: grpc.threadiness: expected an integer, got "many"`},
	} {
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
	c := Default()
	c.GRPC.Enabled = true
	c.GRPC.BindAddress = "127.0.0.1:0"
	c.GRPC.PrivateKey, c.GRPC.CertChain = "/nonexistent/k", "/nonexistent/c"
	c.StdoutOutput.Enabled = false
	c.SyslogOutput.Enabled = false
	_, err := c.Channels(ChannelOptions{})
	if want := "grpc: grpc.cert_chain/grpc.private_key: open /nonexistent/c: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("Channels = %v, want %q", err, want)
	}
}
