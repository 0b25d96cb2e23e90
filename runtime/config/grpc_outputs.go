package config

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/falcoc/falcoc/runtime/grpcapi"
	"github.com/falcoc/falcoc/runtime/output"
)

// GRPC is grpc: Falco's gRPC server (removed from Falco in 0.44, served by
// falcoc for the clients that still use it).
type GRPC struct {
	Enabled bool `yaml:"enabled"`
	// BindAddress is "unix:///path" or "host:port" (mutual TLS).
	BindAddress string `yaml:"bind_address"`
	Threadiness int    `yaml:"threadiness"`
	PrivateKey  string `yaml:"private_key"`
	CertChain   string `yaml:"cert_chain"`
	RootCerts   string `yaml:"root_certs"`
}

// GRPCOutput is grpc_output.
type GRPCOutput struct {
	Enabled bool `yaml:"enabled"`
}

// Falco's defaults for grpc (its falco.yaml before 0.44).
const (
	defaultGRPCPrivateKey = "/etc/falco/certs/server.key"
	defaultGRPCCertChain  = "/etc/falco/certs/server.crt"
	defaultGRPCRootCerts  = "/etc/falco/certs/ca.crt"
)

func defaultGRPC() GRPC {
	return GRPC{BindAddress: grpcapi.DefaultBindAddress, PrivateKey: defaultGRPCPrivateKey,
		CertChain: defaultGRPCCertChain, RootCerts: defaultGRPCRootCerts}
}

// Headers is http_output.custom_headers: header name to value.
type Headers map[string]string

func (h *Headers) decodeNode(d *decoder, n *yaml.Node, key string) error {
	if isNull(n) {
		*h = nil
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, key, "expected a mapping of header names to values, got %s", kindName(n))
	}
	m := Headers{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := resolveAlias(n.Content[i+1])
		if v.Kind != yaml.ScalarNode {
			return d.errorf(v, joinKey(key, n.Content[i].Value), "expected a header value, got %s", kindName(v))
		}
		m[n.Content[i].Value] = v.Value
	}
	*h = m
	return nil
}

// httpConfig maps http_output to the http channel's configuration; the
// server's answers go to o.Stdout when echo is set.
func (c *Config) httpConfig(o ChannelOptions) output.HTTPConfig {
	h := c.HTTPOutput
	hc := output.HTTPConfig{
		URL: h.URL, UserAgent: h.UserAgent, Insecure: h.Insecure,
		CACert: h.CACert, CABundle: h.CABundle, CAPath: h.CAPath,
		MTLS: h.MTLS, ClientCert: h.ClientCert, ClientKey: h.ClientKey,
		KeepAlive: h.KeepAlive, CompressUploads: h.CompressUploads,
		MaxConsecutiveTimeouts: h.MaxConsecutiveTimeouts, Headers: h.CustomHeaders,
	}
	if h.Echo {
		hc.Echo = o.Stdout
	}
	return hc
}

// grpcChannel starts the gRPC server when grpc.enabled; it is an output
// channel (it receives the alerts when grpc_output.enabled) that the
// outputs close. Nil when disabled.
func (c *Config) grpcChannel(o ChannelOptions) (output.Channel, error) {
	if !c.GRPC.Enabled {
		return nil, nil
	}
	g := c.GRPC
	if g.Threadiness < 0 {
		return nil, fmt.Errorf("grpc.threadiness: %d: must not be negative", g.Threadiness)
	}
	s, err := grpcapi.Start(grpcapi.Config{
		BindAddress: g.BindAddress, PrivateKey: g.PrivateKey, CertChain: g.CertChain, RootCerts: g.RootCerts,
		Threadiness: g.Threadiness, Outputs: c.GRPCOutput.Enabled, Version: o.GRPCVersion, Log: o.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("grpc: %w", err)
	}
	return s, nil
}
