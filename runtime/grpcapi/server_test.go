package grpcapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/falcoc/falcoc/internal/testutil"
	"github.com/falcoc/falcoc/runtime/grpcapi/pb/outputs"
	"github.com/falcoc/falcoc/runtime/grpcapi/pb/schema"
	"github.com/falcoc/falcoc/runtime/grpcapi/pb/version"
	"github.com/falcoc/falcoc/runtime/output"
)

func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t *testing.T, target string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func testAlert(i int) *output.Alert {
	return &output.Alert{
		Time: int64(1_700_000_000_000_000_000 + i), Rule: "Read sensitive file untrusted", Priority: output.PriorityWarning,
		Source: "syscall", Hostname: "host1", Tags: []string{"filesystem", "T1555"},
		Message: "Sensitive file opened (file=/etc/shadow)",
		Fields: []output.Field{
			{Name: "fd.name", Value: output.String("/etc/shadow")},
			{Name: "proc.pid", Value: output.Int(42)},
			{Name: "container.id", Value: output.Missing()},
		},
	}
}

func wantResponse(i int) *outputs.Response {
	return &outputs.Response{
		Time:     timestamppb.New(time.Unix(0, int64(1_700_000_000_000_000_000+i))),
		Priority: schema.Priority_WARNING, Rule: "Read sensitive file untrusted",
		Output: time.Unix(0, int64(1_700_000_000_000_000_000+i)).UTC().Format("15:04:05.000000000") +
			": Warning Sensitive file opened (file=/etc/shadow)",
		OutputFields: map[string]string{"evt.time": strconv.Itoa(1_700_000_000_000_000_000 + i), "fd.name": "/etc/shadow", "proc.pid": "42", "container.id": "null"},
		Hostname:     "host1", Tags: []string{"filesystem", "T1555"}, Source: "syscall",
		SourceDeprecated: schema.Source_SYSCALL,
	}
}

func newOutputs(t *testing.T, s *Server) *output.Outputs {
	t.Helper()
	opts := output.DefaultOptions()
	opts.Location = time.UTC
	o, err := output.New(output.Config{Format: &opts}, s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestUnixSocket serves on a unix socket and talks to it with the clients
// generated from the protos: version, a sub stream receiving an alert
// sent through the outputs, and get returning the backlog once.
func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "run", "falco.sock")
	s := startServer(t, Config{BindAddress: "unix://" + sock, Outputs: true,
		Version: VersionInfo{Version: "0.1.0-dev+abc", EngineVersion: "0.62.0", FieldsChecksum: "ff"}})
	o := newOutputs(t, s)
	defer o.Close()
	cc := dial(t, "unix://"+sock, insecure.NewCredentials())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	v, err := version.NewServiceClient(cc).Version(ctx, &version.Request{})
	if err != nil {
		t.Fatal(err)
	}
	wantV := &version.Response{Version: "0.1.0-dev+abc", Major: 0, Minor: 1, Patch: 0, Prerelease: "dev", Build: "abc",
		EngineVersion: "0.62.0", EngineMajor: 0, EngineMinor: 62, EnginePatch: 0, EngineFieldsChecksum: "ff"}
	if diff := cmp.Diff(wantV, v, protocmp.Transform()); diff != "" {
		t.Errorf("version (-want +got)\n%s", diff)
	}

	client := outputs.NewServiceClient(cc)
	subCtx, subCancel := context.WithCancel(ctx)
	defer subCancel()
	sub, err := client.Sub(subCtx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Send(&outputs.Request{}); err != nil {
		t.Fatal(err)
	}
	for s.Stats().Subscribers != 1 {
		time.Sleep(5 * time.Millisecond)
	}
	// A client that closes its side right away still gets the alerts.
	if err := sub.CloseSend(); err != nil {
		t.Fatal(err)
	}
	o.Send(testAlert(0))
	o.Send(testAlert(1))
	for i := range 2 {
		r, err := sub.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantResponse(i), r, protocmp.Transform()); diff != "" {
			t.Errorf("sub response %d (-want +got)\n%s", i, diff)
		}
	}
	subCancel()
	if _, err := sub.Recv(); status.Code(err) != codes.Canceled {
		t.Errorf("sub after cancel: %v, want Canceled", err)
	}

	get := func() []*outputs.Response {
		t.Helper()
		st, err := client.Get(ctx, &outputs.Request{})
		if err != nil {
			t.Fatal(err)
		}
		var got []*outputs.Response
		for {
			r, err := st.Recv()
			if err == io.EOF {
				return got
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
	}
	// The subscriber took alerts 0 and 1; with no subscriber left, 2 and
	// 3 wait for get.
	for s.Stats().Subscribers != 0 {
		time.Sleep(5 * time.Millisecond)
	}
	o.Send(testAlert(2))
	o.Send(testAlert(3))
	for s.blenLocked() != 2 {
		time.Sleep(5 * time.Millisecond)
	}
	if diff := cmp.Diff([]*outputs.Response{wantResponse(2), wantResponse(3)}, get(), protocmp.Transform()); diff != "" {
		t.Errorf("get (-want +got)\n%s", diff)
	}
	if got := get(); len(got) != 0 {
		t.Errorf("second get returned %d alerts, want 0", len(got))
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket still there after Close: %v", err)
	}
}

// TestMutualTLS serves on TCP: a client with a certificate signed by the
// root CA gets its answer; one without a certificate, and one that does
// not trust the server, do not.
func TestMutualTLS(t *testing.T) {
	c := testutil.WriteCerts(t, t.TempDir())
	s := startServer(t, Config{BindAddress: "127.0.0.1:0", Outputs: true,
		PrivateKey: c.ServerKey, CertChain: c.ServerCert, RootCerts: c.CA, Version: VersionInfo{Version: "1.2.3"}})
	roots := func(file string) *x509.CertPool {
		pem, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		p := x509.NewCertPool()
		p.AppendCertsFromPEM(pem)
		return p
	}
	clientCert, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	call := func(tc *tls.Config) error {
		cc := dial(t, s.Addr(), credentials.NewTLS(tc))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v, err := version.NewServiceClient(cc).Version(ctx, &version.Request{})
		if err == nil && v.Major != 1 {
			t.Errorf("version = %v", v)
		}
		return err
	}
	if err := call(&tls.Config{RootCAs: roots(c.CA), Certificates: []tls.Certificate{clientCert}, ServerName: "localhost"}); err != nil {
		t.Errorf("client with a certificate: %v", err)
	}
	if err := call(&tls.Config{RootCAs: roots(c.CA), ServerName: "localhost"}); err == nil {
		t.Errorf("client without a certificate was served")
	}
	if err := call(&tls.Config{RootCAs: roots(c.OtherCA), Certificates: []tls.Certificate{clientCert}, ServerName: "localhost"}); err == nil {
		t.Errorf("client trusting another CA was served")
	}
	cc := dial(t, s.Addr(), insecure.NewCredentials())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := version.NewServiceClient(cc).Version(ctx, &version.Request{}); err == nil {
		t.Errorf("plaintext client was served")
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"tcp without tls", Config{BindAddress: "127.0.0.1:0"},
			`grpc.bind_address "127.0.0.1:0" is TCP: it needs mutual TLS (grpc.private_key, grpc.cert_chain, grpc.root_certs)`},
		{"missing key", Config{BindAddress: "127.0.0.1:0", PrivateKey: filepath.Join(dir, "k"), CertChain: filepath.Join(dir, "c"), RootCerts: filepath.Join(dir, "r")},
			"grpc.cert_chain/grpc.private_key: open " + filepath.Join(dir, "c") + ": no such file or directory"},
		{"empty unix path", Config{BindAddress: "unix://"}, `grpc.bind_address "unix://": no socket path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Error(diff)
			}
		})
	}
}

// TestWriteNeverWaits: the backlog keeps the newest alerts while nobody
// subscribes and counts what it pushed out; a subscriber that does not
// read loses alerts, and the loss is counted.
func TestWriteNeverWaits(t *testing.T) {
	s := startServer(t, Config{BindAddress: "unix://" + filepath.Join(t.TempDir(), "s.sock"), Outputs: true, Backlog: 3})
	write := func(i int) {
		t.Helper()
		m := &output.Message{Line: []byte("x"), Data: &output.AlertData{Time: int64(i), Rule: "r", Source: "k8s_audit"}}
		if err := s.Write(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		write(i)
	}
	stuck := &subscriber{ch: make(chan *outputs.Response, 1)}
	s.mu.Lock()
	s.subs[stuck] = struct{}{}
	s.mu.Unlock()
	write(5)
	write(6)
	st := s.Stats()
	if st.SubscriberDrops != 1 || st.BacklogDrops != 2 || s.ChannelDropped() != 3 {
		t.Errorf("stats = %+v, want 1 subscriber drop and 2 backlog drops", st)
	}
	if r := <-stuck.ch; r.Time.AsTime().UnixNano() != 5 || r.SourceDeprecated != schema.Source_K8S_AUDIT {
		t.Errorf("subscriber got %v", r)
	}
	var times []string
	for i := range s.blen {
		times = append(times, s.backlog[(s.bhead+i)%len(s.backlog)].Time.AsTime().Format(".000000000"))
	}
	if got := strings.Join(times, " "); got != ".000000002 .000000003 .000000004" {
		t.Errorf("backlog = %s, want the 3 newest from before the subscription", got)
	}
}

func (s *Server) blenLocked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blen
}
