package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/falcoc/falcoc/internal/testutil"
	"github.com/falcoc/falcoc/runtime/grpcapi/pb/outputs"
	"github.com/falcoc/falcoc/runtime/grpcapi/pb/schema"
	"github.com/falcoc/falcoc/runtime/grpcapi/pb/version"
)

const shadowRule = "Read sensitive file untrusted"

// TestGRPCOutput runs falco-run with the gRPC server on a unix socket and
// on TCP with mutual TLS, and uses the clients generated from the protos
// (the API Falco's published clients speak): the version service, a sub
// stream that receives the alert for a live read of /etc/shadow, and get,
// which returns the alert raised while no sub stream was open.
func TestGRPCOutput(t *testing.T) {
	requireLive(t)
	t.Run("unix", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "run", "falco.sock")
		f := startFalco(t, "-o", "grpc.enabled=true", "-o", "grpc_output.enabled=true",
			"-o", "grpc.bind_address=unix://"+sock, "-o", "grpc.threadiness=2")
		checkGRPC(t, f, "unix://"+sock, insecure.NewCredentials())
		if _, err := f.stop(); err != nil {
			t.Fatalf("falco-run: %v\n%s", err, f.errText())
		}
		if _, err := os.Stat(sock); !os.IsNotExist(err) {
			t.Errorf("socket left after exit: %v", err)
		}
	})
	t.Run("tcp-mtls", func(t *testing.T) {
		c := testutil.WriteCerts(t, t.TempDir())
		addr := freeAddr(t)
		f := startFalco(t, "-o", "grpc.enabled=true", "-o", "grpc_output.enabled=true", "-o", "grpc.bind_address="+addr,
			"-o", "grpc.private_key="+c.ServerKey, "-o", "grpc.cert_chain="+c.ServerCert, "-o", "grpc.root_certs="+c.CA)
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		cert, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		// Without a client certificate the server refuses the call.
		noCert := dialGRPC(t, addr, credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: "localhost"}))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := version.NewServiceClient(noCert).Version(ctx, &version.Request{}); err == nil {
			t.Errorf("a client without a certificate was served")
		}
		checkGRPC(t, f, addr, credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}, ServerName: "localhost"}))
	})
}

// freeAddr returns a loopback address with a free TCP port.
func freeAddr(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", freePort(t))
}

func dialGRPC(t *testing.T, target string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func checkGRPC(t *testing.T, f *falco, target string, creds credentials.TransportCredentials) {
	t.Helper()
	cc := dialGRPC(t, target, creds)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	v, err := version.NewServiceClient(cc).Version(ctx, &version.Request{})
	if err != nil {
		t.Fatalf("version: %v\n%s", err, f.errText())
	}
	if v.EngineVersion != "0.62.0" || v.EngineMinor != 62 || v.Version == "" || len(v.EngineFieldsChecksum) != 64 {
		t.Errorf("version = %v", v)
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
	// The subscription is registered once the request is in; until then
	// the alerts go to get's backlog. Read /etc/shadow until one arrives.
	got := make(chan *outputs.Response, 100)
	go func() {
		for {
			r, err := sub.Recv()
			if err != nil {
				close(got)
				return
			}
			got <- r
		}
	}()
	var r *outputs.Response
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	runCmd(t, false, "cat", "/etc/shadow")
wait:
	for {
		select {
		case x, ok := <-got:
			if !ok {
				t.Fatalf("sub stream ended\n%s", f.errText())
			}
			if x.Rule == shadowRule && x.OutputFields["fd.name"] == "/etc/shadow" && x.OutputFields["proc.name"] == "cat" {
				r = x
				break wait
			}
		case <-tick.C:
			runCmd(t, false, "cat", "/etc/shadow")
		case <-deadline:
			t.Fatalf("no %q alert on the sub stream\n%s", shadowRule, f.errText())
		}
	}
	if r.Priority != schema.Priority_WARNING || r.Source != "syscall" || r.SourceDeprecated != schema.Source_SYSCALL ||
		r.Hostname == "" || len(r.Tags) == 0 || r.Time.AsTime().Before(time.Now().Add(-time.Minute)) {
		t.Errorf("sub response = %v", r)
	}
	// output is the alert as falco-run formats it (JSON here, as Falco
	// did): the stdout alert is the same one.
	var line alert
	if err := json.Unmarshal([]byte(r.Output), &line); err != nil || line.Rule != shadowRule {
		t.Fatalf("sub response output %q: %v", r.Output, err)
	}
	if _, ok := f.wait(0, 5*time.Second, func(a *alert) bool { return a.Output == line.Output }); !ok {
		t.Errorf("no stdout alert %q", line.Output)
	}
	subCancel()
	for range got {
	}

	// With no sub stream open, the next alert waits for get. The
	// server may not have seen the stream end yet: retry for a while.
	runCmd(t, false, "cat", "/etc/shadow")
	deadline = time.After(20 * time.Second)
	for {
		st, err := client.Get(ctx, &outputs.Request{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for {
			x, err := st.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if x.Rule == shadowRule && x.OutputFields["fd.name"] == "/etc/shadow" {
				if _, err := strconv.ParseInt(x.OutputFields["evt.time"], 10, 64); err != nil {
					t.Errorf("get: evt.time %q", x.OutputFields["evt.time"])
				}
				found = true
			}
		}
		if found {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("get never returned a %q alert\n%s", shadowRule, f.errText())
		case <-time.After(500 * time.Millisecond):
			runCmd(t, false, "cat", "/etc/shadow")
		}
	}
}
