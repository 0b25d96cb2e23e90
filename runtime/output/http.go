package output

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
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
	// The trusted roots, as Falco's libcurl options take them: CACert (a
	// PEM file) when set, else CABundle (a PEM file), else CAPath (a
	// directory of PEM files); the system's roots when CAPath is missing
	// or holds no certificate.
	CACert, CABundle, CAPath string
	// MTLS presents ClientCert/ClientKey to the server.
	MTLS                  bool
	ClientCert, ClientKey string
	// KeepAlive turns on TCP keep-alive probes (libcurl's
	// CURLOPT_TCP_KEEPALIVE, which is what Falco's keep_alive sets). The
	// connection is reused between alerts either way, as Falco's one
	// libcurl handle does.
	KeepAlive bool
	// Echo, when not nil, receives the server's answers (http_output.echo:
	// Falco writes them to its stdout).
	Echo io.Writer
	// CompressUploads is http_output.compress_uploads. Falco sets
	// libcurl's CURLOPT_TRANSFER_ENCODING with it, which asks the server
	// for a compressed response and sends the body as it is; so does
	// this channel (header "TE: gzip"), which keeps Falcosidekick and
	// other receivers working unchanged.
	CompressUploads bool
	// MaxConsecutiveTimeouts is how many times a request that timed out is
	// sent again before the alert counts as failed (Falco's
	// max_consecutive_timeouts).
	MaxConsecutiveTimeouts int
	// Headers are added to every request (falcoc's
	// http_output.custom_headers; Falco has no such key).
	Headers map[string]string
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
	// Falco takes a quoted URL without its quotes.
	if u := cfg.URL; len(u) >= 2 && (u[0] == '"' && u[len(u)-1] == '"' || u[0] == '\'' && u[len(u)-1] == '\'') {
		cfg.URL = u[1 : len(u)-1]
	}
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
		dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: -1}
		if cfg.KeepAlive {
			dialer.KeepAlive = 15 * time.Second
		}
		tr.DialContext = dialer.DialContext
		// The body is sent as it is; with TE the server may compress its
		// answer, which Go's transport does not decode: ask for none.
		tr.DisableCompression = true
		c.client = &http.Client{Transport: tr, Timeout: cfg.Timeout}
	}
	return c, nil
}

func (cfg *HTTPConfig) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{InsecureSkipVerify: cfg.Insecure}
	var pems []string
	switch {
	case cfg.CACert != "":
		pems = []string{cfg.CACert}
	case cfg.CABundle != "":
		pems = []string{cfg.CABundle}
	case cfg.CAPath != "":
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
		pool := x509.NewCertPool()
		n := 0
		for _, f := range pems {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("http output: read CA: %w", err)
			}
			if pool.AppendCertsFromPEM(b) {
				n++
			}
		}
		switch {
		case n > 0:
			tc.RootCAs = pool
		case cfg.CACert != "" || cfg.CABundle != "":
			return nil, fmt.Errorf("http output: %s: no PEM certificate", pems[0])
		}
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
	body := bytes.Clone(m.Line)
	var err error
	for try := 0; ; try++ {
		err = c.post(ctx, body, m.JSON)
		if err == nil || !isTimeout(err) || try >= c.cfg.MaxConsecutiveTimeouts || ctx.Err() != nil {
			break
		}
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *httpChannel) post(ctx context.Context, body []byte, isJSON bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("http output: %w", err)
	}
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	if isJSON {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "text/plain")
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if c.cfg.CompressUploads {
		req.Header.Set("TE", "gzip")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("http output: %w", err)
	}
	answer := io.LimitReader(resp.Body, 64<<10)
	if c.cfg.Echo != nil {
		io.Copy(c.cfg.Echo, answer)
	} else {
		io.Copy(io.Discard, answer)
	}
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
