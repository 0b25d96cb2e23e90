package grpcapi

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/grpcapi/pb/outputs"
	"github.com/falcoc/falcoc/runtime/grpcapi/pb/schema"
	"github.com/falcoc/falcoc/runtime/grpcapi/pb/version"
	"github.com/falcoc/falcoc/runtime/output"
)

// DefaultBindAddress is Falco's grpc.bind_address default.
const DefaultBindAddress = "unix:///run/falco/falco.sock"

// DefaultBacklog bounds the alerts kept for get between two calls.
const DefaultBacklog = 10000

// subscriberBuffer bounds the alerts waiting for one sub stream.
const subscriberBuffer = 1024

// Config configures [Start] (falco.yaml grpc and grpc_output).
type Config struct {
	// BindAddress is "unix:///path" or "host:port" (TCP, mutual TLS).
	BindAddress string
	// PrivateKey, CertChain and RootCerts are PEM files: the server's key
	// and certificate chain, and the CAs that sign client certificates.
	// Required for TCP.
	PrivateKey, CertChain, RootCerts string
	// Threadiness is grpc.threadiness: the number of stream workers; 0
	// lets gRPC start a goroutine per stream.
	Threadiness int
	// Outputs turns the outputs service on (grpc_output.enabled).
	Outputs bool
	// Backlog bounds the alerts kept for get; 0 is DefaultBacklog.
	Backlog int
	// Version is what the version service answers.
	Version VersionInfo
	// Log receives the listening address (stderr); nil discards it.
	Log io.Writer
}

// VersionInfo is the version service's answer.
type VersionInfo struct {
	// Version is the program's version, "MAJOR.MINOR.PATCH[-PRE][+BUILD]".
	Version string
	// EngineVersion is the rule engine's "MAJOR.MINOR.PATCH".
	EngineVersion string
	// FieldsChecksum identifies the field catalog; "" is [FieldsChecksum].
	FieldsChecksum string
}

// Stats are the server's counters. Safe to read at any time.
type Stats struct {
	// Subscribers is the number of sub streams open now.
	Subscribers int
	// Delivered counts alerts written to sub and get streams.
	Delivered uint64
	// SubscriberDrops counts alerts a sub stream lost because the client
	// did not read fast enough; BacklogDrops the oldest alerts pushed out
	// of the get backlog.
	SubscriberDrops, BacklogDrops uint64
}

// Server is the gRPC server and the "grpc" output channel. Write and Stats
// are safe for concurrent use; Close stops the server.
type Server struct {
	cfg  Config
	srv  *grpc.Server
	lis  net.Listener
	sock string        // unix socket path to remove at Close
	done chan struct{} // closed when Serve returned
	stop chan struct{} // closed when Close starts: sub streams end

	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	backlog []*outputs.Response
	bhead   int
	blen    int

	delivered, subDrops, backlogDrops atomic.Uint64
	closing                           atomic.Bool

	outputs.UnimplementedServiceServer
}

type subscriber struct {
	ch chan *outputs.Response
}

// Start listens on cfg.BindAddress and serves until [Server.Close].
func Start(cfg Config) (*Server, error) {
	if cfg.BindAddress == "" {
		cfg.BindAddress = DefaultBindAddress
	}
	if cfg.Backlog <= 0 {
		cfg.Backlog = DefaultBacklog
	}
	s := &Server{cfg: cfg, subs: map[*subscriber]struct{}{}, done: make(chan struct{}), stop: make(chan struct{})}
	// Long sub streams: accept clients' keepalive pings down to every 10 s
	// (gRPC's default refuses more than one per 5 minutes).
	opts := []grpc.ServerOption{grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
		MinTime: 10 * time.Second, PermitWithoutStream: true})}
	if cfg.Threadiness > 0 {
		opts = append(opts, grpc.NumStreamWorkers(uint32(cfg.Threadiness)))
	}
	if path, ok := strings.CutPrefix(cfg.BindAddress, "unix://"); ok {
		if path == "" {
			return nil, fmt.Errorf("grpc.bind_address %q: no socket path", cfg.BindAddress)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("grpc.bind_address: %w", err)
		}
		// A socket left by a previous run that did not stop cleanly.
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(path)
		}
		lis, err := net.Listen("unix", path)
		if err != nil {
			return nil, fmt.Errorf("grpc.bind_address: %w", err)
		}
		s.lis, s.sock = lis, path
	} else {
		tc, err := cfg.mtls()
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
		lis, err := net.Listen("tcp", cfg.BindAddress)
		if err != nil {
			return nil, fmt.Errorf("grpc.bind_address: %w", err)
		}
		s.lis = lis
	}
	s.srv = grpc.NewServer(opts...)
	if cfg.Outputs {
		outputs.RegisterServiceServer(s.srv, s)
	}
	version.RegisterServiceServer(s.srv, &versionServer{resp: cfg.Version.response()})
	go func() {
		defer close(s.done)
		s.srv.Serve(s.lis)
	}()
	if cfg.Log != nil {
		what := "version service"
		if cfg.Outputs {
			what = "outputs and version services"
		}
		fmt.Fprintf(cfg.Log, "falco-run: gRPC server (%s) listening on %s\n", what, s.Addr())
	}
	return s, nil
}

// Addr returns the address the server listens on, as a gRPC target:
// "unix:///path" or "host:port".
func (s *Server) Addr() string {
	if s.sock != "" {
		return "unix://" + s.sock
	}
	return s.lis.Addr().String()
}

// mtls builds the TCP server's TLS configuration: the server's certificate
// and client certificates required and verified against RootCerts.
func (cfg *Config) mtls() (*tls.Config, error) {
	if cfg.PrivateKey == "" || cfg.CertChain == "" || cfg.RootCerts == "" {
		return nil, fmt.Errorf("grpc.bind_address %q is TCP: it needs mutual TLS (grpc.private_key, grpc.cert_chain, grpc.root_certs)", cfg.BindAddress)
	}
	cert, err := tls.LoadX509KeyPair(cfg.CertChain, cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("grpc.cert_chain/grpc.private_key: %w", err)
	}
	pem, err := os.ReadFile(cfg.RootCerts)
	if err != nil {
		return nil, fmt.Errorf("grpc.root_certs: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("grpc.root_certs: %s: no PEM certificate", cfg.RootCerts)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// Name implements [output.Channel].
func (s *Server) Name() string { return "grpc" }

// WantsData implements [output.DataChannel].
func (s *Server) WantsData() bool { return s.cfg.Outputs }

// Write implements [output.Channel]: it hands the alert to every sub
// stream, or to the get backlog when there is none, without waiting for
// any client.
func (s *Server) Write(_ context.Context, m *output.Message) error {
	if !s.cfg.Outputs || m.Data == nil {
		return nil
	}
	r := response(m)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.subs) > 0 {
		// Subscribers take the alert, as they drain Falco's one queue.
		for sub := range s.subs {
			select {
			case sub.ch <- r:
			default:
				s.subDrops.Add(1)
			}
		}
		return nil
	}
	if s.blen == len(s.backlog) && len(s.backlog) == s.cfg.Backlog {
		// Full: the oldest alert makes room.
		s.backlog[s.bhead] = nil
		s.bhead = (s.bhead + 1) % len(s.backlog)
		s.blen--
		s.backlogDrops.Add(1)
	}
	if s.blen == len(s.backlog) {
		grown := make([]*outputs.Response, min(max(2*len(s.backlog), 64), s.cfg.Backlog))
		for i := range s.blen {
			grown[i] = s.backlog[(s.bhead+i)%len(s.backlog)]
		}
		s.backlog, s.bhead = grown, 0
	}
	s.backlog[(s.bhead+s.blen)%len(s.backlog)] = r
	s.blen++
	return nil
}

// response converts an alert to Falco's outputs response.
func response(m *output.Message) *outputs.Response {
	d := m.Data
	r := &outputs.Response{
		Time:         timestamppb.New(time.Unix(0, d.Time)),
		Priority:     schema.Priority(d.Priority),
		Rule:         d.Rule,
		Output:       string(m.Line),
		OutputFields: d.Fields,
		Hostname:     d.Hostname,
		Tags:         d.Tags,
		Source:       d.Source,
	}
	src := schema.Source_PLUGIN
	if v, ok := schema.Source_value[d.Source]; ok {
		src = schema.Source(v)
	}
	r.SourceDeprecated = src
	return r
}

// Sub implements outputs.sub: every alert from now on, until the client
// cancels the call or the server stops.
func (s *Server) Sub(stream grpc.BidiStreamingServer[outputs.Request, outputs.Response]) error {
	sub := &subscriber{ch: make(chan *outputs.Response, subscriberBuffer)}
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	}()
	ctx := stream.Context()
	// The client's requests only keep the stream alive: they are read and
	// dropped. Its half-close changes nothing (a client that sends one
	// request and closes its side still gets the alerts); cancelling the
	// call ends the subscription.
	go func() {
		for {
			if _, err := stream.Recv(); err != nil {
				return
			}
		}
	}()
	for {
		select {
		case r := <-sub.ch:
			if err := stream.Send(r); err != nil {
				return err
			}
			s.delivered.Add(1)
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stop:
			return nil
		}
	}
}

// Get implements outputs.get: the alerts queued since the previous get,
// then the end of the stream.
func (s *Server) Get(_ *outputs.Request, stream grpc.ServerStreamingServer[outputs.Response]) error {
	s.mu.Lock()
	out := make([]*outputs.Response, s.blen)
	for i := range s.blen {
		out[i] = s.backlog[(s.bhead+i)%len(s.backlog)]
		s.backlog[(s.bhead+i)%len(s.backlog)] = nil
	}
	s.bhead, s.blen = 0, 0
	s.mu.Unlock()
	for _, r := range out {
		if err := stream.Send(r); err != nil {
			return err
		}
		s.delivered.Add(1)
	}
	return nil
}

// ChannelDropped implements [output.DropReporter]: the alerts sub streams
// and the get backlog lost.
func (s *Server) ChannelDropped() uint64 { return s.subDrops.Load() + s.backlogDrops.Load() }

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.subs)
	s.mu.Unlock()
	return Stats{Subscribers: n, Delivered: s.delivered.Load(),
		SubscriberDrops: s.subDrops.Load(), BacklogDrops: s.backlogDrops.Load()}
}

// closeTimeout bounds the graceful stop in Close.
const closeTimeout = 2 * time.Second

// Close stops the server: open streams end, and after a short grace the
// connections are closed. The unix socket is removed. Later calls do
// nothing.
func (s *Server) Close() error {
	if !s.closing.CompareAndSwap(false, true) {
		return nil
	}
	close(s.stop)
	stopped := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(closeTimeout):
		s.srv.Stop()
		<-stopped
	}
	<-s.done
	if s.sock != "" {
		if err := os.Remove(s.sock); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("grpc: remove socket: %w", err)
		}
	}
	return nil
}

type versionServer struct {
	version.UnimplementedServiceServer
	resp *version.Response
}

func (v *versionServer) Version(context.Context, *version.Request) (*version.Response, error) {
	return v.resp, nil
}

// response fills the version service's answer: the numbers parsed from
// the version strings.
func (vi VersionInfo) response() *version.Response {
	if vi.FieldsChecksum == "" {
		vi.FieldsChecksum = FieldsChecksum()
	}
	r := &version.Response{Version: vi.Version, EngineVersion: vi.EngineVersion, EngineFieldsChecksum: vi.FieldsChecksum}
	var pre, build string
	r.Major, r.Minor, r.Patch, pre, build = parseSemver(vi.Version)
	r.Prerelease, r.Build = pre, build
	r.EngineMajor, r.EngineMinor, r.EnginePatch, _, _ = parseSemver(vi.EngineVersion)
	return r
}

// parseSemver splits "MAJOR.MINOR.PATCH[-PRE][+BUILD]"; missing or bad
// numbers are 0.
func parseSemver(v string) (major, minor, patch uint32, pre, build string) {
	v, build, _ = strings.Cut(v, "+")
	v, pre, _ = strings.Cut(v, "-")
	nums := strings.SplitN(v, ".", 3)
	get := func(i int) uint32 {
		if i >= len(nums) {
			return 0
		}
		n, err := strconv.ParseUint(nums[i], 10, 32)
		if err != nil {
			return 0
		}
		return uint32(n)
	}
	return get(0), get(1), get(2), pre, build
}

// FieldsChecksum is a SHA-256 over the field catalog (source, name and type
// of every field, sorted), as the version service's engine_fields_checksum:
// it changes when the fields a rule can use change.
func FieldsChecksum() string {
	var lines []string
	for _, f := range catalog.Fields() {
		lines = append(lines, f.Source+" "+f.Name+" "+f.Type.String()+"\n")
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l)
	}
	return hex.EncodeToString(h.Sum(nil))
}
