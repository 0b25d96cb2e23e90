package output

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// DefaultHTTPUserAgent is Falco's http_output.user_agent default.
const DefaultHTTPUserAgent = "falcosecurity/falco"

// DefaultHTTPTimeout bounds one POST.
const DefaultHTTPTimeout = 10 * time.Second

// HTTPConfig configures [NewHTTP] (falco.yaml http_output).
type HTTPConfig struct {
	URL       string
	UserAgent string // "" is DefaultHTTPUserAgent
	// Timeout bounds one request; 0 is DefaultHTTPTimeout.
	Timeout time.Duration
	// Insecure skips TLS certificate verification.
	Insecure bool
	// CACert and CABundle are PEM files, CAPath a directory of PEM files,
	// added to the trusted roots when set.
	CACert, CABundle, CAPath string
	// MTLS presents ClientCert/ClientKey to the server.
	MTLS                  bool
	ClientCert, ClientKey string
	// KeepAlive reuses connections between alerts.
	KeepAlive bool
	// Client replaces the HTTP client built from the fields above (tests).
	Client *http.Client
}

type httpChannel struct {
	cfg    HTTPConfig
	client *http.Client
}

// NewHTTP returns a channel POSTing each alert to a URL, with Content-Type
// application/json for JSON alerts and text/plain otherwise. A status of 400
// or more is a failed write.
func NewHTTP(cfg HTTPConfig) (Channel, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("http output: url is empty")
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultHTTPUserAgent
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultHTTPTimeout
	}
	c := &httpChannel{cfg: cfg, client: cfg.Client}
	if c.client == nil {
		tlsCfg, err := cfg.tlsConfig()
		if err != nil {
			return nil, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tlsCfg
		tr.DisableKeepAlives = !cfg.KeepAlive
		c.client = &http.Client{Transport: tr, Timeout: cfg.Timeout}
	}
	return c, nil
}

func (cfg *HTTPConfig) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{InsecureSkipVerify: cfg.Insecure}
	var pems []string
	for _, f := range []string{cfg.CACert, cfg.CABundle} {
		if f != "" {
			pems = append(pems, f)
		}
	}
	if cfg.CAPath != "" {
		ents, err := os.ReadDir(cfg.CAPath)
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("http output: read ca_path: %w", err)
		}
		for _, e := range ents {
			if !e.IsDir() {
				pems = append(pems, filepath.Join(cfg.CAPath, e.Name()))
			}
		}
	}
	if len(pems) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, f := range pems {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("http output: read CA: %w", err)
			}
			pool.AppendCertsFromPEM(b)
		}
		tc.RootCAs = pool
	}
	if cfg.MTLS {
		cert, err := tls.LoadX509KeyPair(cfg.ClientCert, cfg.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("http output: load client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (c *httpChannel) Name() string { return "http" }

func (c *httpChannel) Write(ctx context.Context, m *Message) error {
	// The transport may read the body after Do returns on some error
	// paths, so it gets its own copy of the shared line.
	body := bytes.NewReader(bytes.Clone(m.Line))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, body)
	if err != nil {
		return fmt.Errorf("http output: %w", err)
	}
	if m.JSON {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "text/plain")
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("http output: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("http output: %s", resp.Status)
	}
	return nil
}

func (c *httpChannel) Close() error {
	c.client.CloseIdleConnections()
	return nil
}
