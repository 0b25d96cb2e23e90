// Package web is falco-run's web server, Falco's `webserver`: the health
// endpoint for probes (/healthz), the versions document (/versions) and,
// when enabled, Prometheus metrics (/metrics), over HTTP or HTTPS.
//
// A [Server] is started with [Listen] and [Server.Serve] and stopped with
// [Server.Close]; its methods are safe for concurrent use.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// Options configure a [Server].
type Options struct {
	// Address is host:port to listen on.
	Address string
	// HealthzPath is the health endpoint (webserver.k8s_healthz_endpoint);
	// "" is "/healthz".
	HealthzPath string
	// Ready reports whether the event sources run: until then the health
	// endpoint answers 503. Nil: always ready.
	Ready func() bool
	// Versions is the /versions document (JSON).
	Versions []byte
	// Metrics serves /metrics; nil: /metrics is not served (404).
	Metrics http.Handler
	// TLS serves HTTPS with the certificate and key in CertFile (one PEM
	// file holding both, as Falco's webserver.ssl_certificate).
	TLS      bool
	CertFile string
}

// Server is a running web server.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	opts Options
}

// Listen opens the listening socket (so that the port is taken, or the
// error known, before any source starts).
func Listen(o Options) (*Server, error) {
	if o.HealthzPath == "" {
		o.HealthzPath = "/healthz"
	}
	if o.HealthzPath[0] != '/' {
		return nil, fmt.Errorf("k8s_healthz_endpoint %q: must start with /", o.HealthzPath)
	}
	var tlsConf *tls.Config
	if o.TLS {
		pem, err := os.ReadFile(o.CertFile)
		if err != nil {
			return nil, fmt.Errorf("ssl_certificate: %w", err)
		}
		cert, err := tls.X509KeyPair(pem, pem)
		if err != nil {
			return nil, fmt.Errorf("ssl_certificate %s: %w (the file holds the certificate and its private key)", o.CertFile, err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", o.Address)
	if err != nil {
		return nil, err
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	s := &Server{ln: ln, opts: o}
	mux := http.NewServeMux()
	mux.HandleFunc(o.HealthzPath, s.healthz)
	mux.HandleFunc("/versions", s.versions)
	if o.Metrics != nil {
		mux.Handle("/metrics", o.Metrics)
	}
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the server's base URL ("http://127.0.0.1:8765").
func (s *Server) URL() string {
	scheme := "http"
	if s.opts.TLS {
		scheme = "https"
	}
	return scheme + "://" + s.ln.Addr().String()
}

// Serve serves until Close; it returns nil after Close.
func (s *Server) Serve() error {
	err := s.srv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the server, letting requests in progress finish until ctx
// ends.
func (s *Server) Close(ctx context.Context) error { return s.srv.Shutdown(ctx) }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.opts.Ready != nil && !s.opts.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status": "not ready"}`))
		return
	}
	_, _ = w.Write([]byte(`{"status": "ok"}`))
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.opts.Versions)
}
