package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// freePort returns a TCP port free on 127.0.0.1 right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// get fetches url with client and returns the status and body; status 0
// when the server does not answer.
func get(client *http.Client, url string) (int, string) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitStatus polls url until it answers, and returns its first answer.
func waitStatus(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if code, body := get(client, url); code != 0 {
			return code, body
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: no answer in 20s", url)
	return 0, ""
}

// waitReady polls url until it answers 200.
func waitReady(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var code int
	var body string
	for time.Now().Before(deadline) {
		if code, body = get(client, url); code == http.StatusOK {
			return body
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not ready after 30s (last: %d %s)", url, code, body)
	return ""
}

const replayLine = `{"ts":"2026-11-26T17:39:55.528217587Z","type":"openat","tid":101,"res":3,"args":{"dirfd":-100,"name":"/etc/shadow","flags":"O_RDONLY"},"proc":{"ppid":1,"comm":"cat","exe":"/usr/bin/cat","exepath":"/usr/bin/cat","args":["/etc/shadow"],"cwd":"/","uid":0}}` + "\n"

// replayOnFIFO starts falco-run replaying a FIFO, with args: it blocks
// opening the trace until the test opens the FIFO's writing end, which
// the returned function does. The web server runs from the start.
func replayOnFIFO(t *testing.T, args ...string) (cmd *exec.Cmd, stderr *syncBuffer, openTrace func() io.WriteCloser) {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "trace.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"-r", rulesFile, "-e", fifo, "-o", "syslog_output.enabled=false", "-o", "json_output=true"}
	cmd = exec.Command(filepath.Join(bin, "falco-run"), append(base, args...)...)
	cmd.Env = append(os.Environ(), "FALCOC_DEFAULT_CONFIG=")
	stderr = &syncBuffer{}
	cmd.Stderr = stderr
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, stderr, func() io.WriteCloser {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
}

// syncBuffer is a strings.Builder safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// /healthz says "not ready" (503) while the source is not running yet,
// here a replay whose trace (a FIFO) has no writer yet, and ok once it
// runs; /versions answers Falco's keys. No root needed.
func TestHealthzReady(t *testing.T) {
	port := freePort(t)
	cmd, stderr, openTrace := replayOnFIFO(t, "-o", "webserver.enabled=true", "-o", "webserver.listen_port="+strconv.Itoa(port))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 5 * time.Second}
	code, body := waitStatus(t, client, base+"/healthz")
	if code != http.StatusServiceUnavailable || body != `{"status": "not ready"}` {
		t.Fatalf("/healthz before the replay runs: %d %s, want 503 {\"status\": \"not ready\"}\n%s", code, body, stderr)
	}
	w := openTrace()
	if body := waitReady(t, client, base+"/healthz"); body != `{"status": "ok"}` {
		t.Errorf("/healthz once ready: %s, want {\"status\": \"ok\"}", body)
	}
	code, body = get(client, base+"/versions")
	var v map[string]any
	if code != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("/versions: %d %s", code, body)
	}
	if p, _ := v["plugin_versions"].(map[string]any); p["container"] != "0.7.1" || p["k8saudit"] == nil {
		t.Errorf("/versions plugin_versions = %v", v["plugin_versions"])
	}
	for k, want := range map[string]any{"engine_version": "62", "engine_version_semver": "0.62.0", "falco_version": "0.44.1", "driver_schema_version": "4.3.0"} {
		if v[k] != want {
			t.Errorf("/versions %s = %v, want %v (%s)", k, v[k], want, body)
		}
	}
	if code, _ := get(client, base+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics without prometheus_metrics_enabled: %d, want 404", code)
	}
	if _, err := io.WriteString(w, replayLine); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("falco-run: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "alerts: 1\n") {
		t.Errorf("the replay's alert is not counted:\n%s", stderr)
	}
}

// webserver.ssl_enabled serves HTTPS with the certificate and key of one
// PEM file (webserver.ssl_certificate).
func TestHealthzTLS(t *testing.T) {
	pemFile := filepath.Join(t.TempDir(), "falco.pem")
	pool := writeSelfSigned(t, pemFile)
	port := freePort(t)
	_, stderr, openTrace := replayOnFIFO(t, "-o", "webserver.enabled=true", "-o", "webserver.listen_port="+strconv.Itoa(port),
		"-o", "webserver.ssl_enabled=true", "-o", "webserver.ssl_certificate="+pemFile, "-o", "webserver.k8s_healthz_endpoint=/health")
	w := openTrace()
	defer w.Close()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := fmt.Sprintf("https://127.0.0.1:%d/health", port)
	if body := waitReady(t, client, url); body != `{"status": "ok"}` {
		t.Errorf("%s: %s\n%s", url, body, stderr)
	}
	if code, _ := get(&http.Client{Timeout: 5 * time.Second}, fmt.Sprintf("http://127.0.0.1:%d/health", port)); code == http.StatusOK {
		t.Errorf("plain HTTP answered 200 on a TLS server")
	}
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key to one
// PEM file and returns a pool trusting it.
func writeSelfSigned(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "falcoc-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// scrape parses /metrics with Prometheus' own parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bufio.NewReader(resp.Body))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return fams
}

// value returns the value of the family's metric whose labels include
// want (summed over the matches), and whether one matched.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	sum, found := 0.0, false
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range want {
			ok = ok && labels[k] == v
		}
		if !ok {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum, found
}

// Falco's own CI starts Falco with these flags and waits for /healthz;
// falco-run takes them as they are (only the port is moved, so that
// tests running beside may use 8765). /metrics, scraped with
// Prometheus' parser, carries Falco's metric names and falcoc's prefilter
// stages, and its values move with a real /etc/shadow read; the
// metrics.interval snapshot alert arrives; the http output gets the alert.
func TestFalcoCIFlagsMetrics(t *testing.T) {
	requireLive(t)
	received := make(chan string, 100)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case received <- string(b):
		default:
		}
	})}
	go hs.Serve(hl)
	t.Cleanup(func() { hs.Close() })

	port := freePort(t)
	f := startFalco(t,
		"-o", "engine.kind=modern_ebpf",
		"-o", "json_output=true",
		"-o", "http_output.enabled=true",
		"-o", "http_output.url=http://"+hl.Addr().String(),
		"-o", "http_output.max_consecutive_timeouts=1000000",
		"-o", `append_output[]={"extra_fields": ["proc.env"]}`,
		"-o", "webserver.enabled=true",
		"-o", "metrics.enabled=true",
		"-o", "webserver.prometheus_metrics_enabled=true",
		"-o", "webserver.listen_port="+strconv.Itoa(port),
		"-o", "metrics.interval=1s")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 5 * time.Second}
	if body := waitReady(t, client, base+"/healthz"); body != `{"status": "ok"}` {
		t.Fatalf("/healthz: %s", body)
	}
	shadow := map[string]string{"rule_name": "Read sensitive file untrusted", "priority": "4", "source": "syscall", "tag_filesystem": "true"}
	before := scrape(t, base+"/metrics")
	for _, name := range []string{
		"falcosecurity_falco_version_info", "falcosecurity_falco_start_timestamp_nanoseconds",
		"falcosecurity_falco_memory_rss_bytes", "falcosecurity_falco_cpu_usage_ratio", "falcosecurity_falco_host_num_cpus_total",
		"falcosecurity_falco_outputs_queue_num_drops_total", "falcosecurity_scap_n_evts_total", "falcosecurity_scap_n_drops_total",
		"falcosecurity_falco_kernel_release_info", "falcosecurity_scap_engine_name_info",
		"falcoc_kernel_hook_calls_total", "falcoc_kernel_gate_passed_total", "falcoc_kernel_prefilter_dropped_total",
		"falcoc_kernel_sent_total", "falcoc_kernel_lost_total", "falcoc_engine_events_total",
	} {
		if before[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if v, _ := value(before, "falcosecurity_falco_memory_rss_bytes", nil); v < 1<<20 {
		t.Errorf("falcosecurity_falco_memory_rss_bytes = %v, want at least 1 MiB", v)
	}
	from := len(f.all())
	runCmd(t, false, "cat", "/etc/shadow")
	if _, ok := f.wait(from, alertTimeout, func(a *alert) bool {
		return a.Rule == "Read sensitive file untrusted" && a.field("proc.name") == "cat"
	}); !ok {
		t.Fatalf("no alert for cat /etc/shadow:\n%s", f.errText())
	}
	after := scrape(t, base+"/metrics")
	moved := []struct {
		name   string
		labels map[string]string
	}{
		{"falcosecurity_falco_rules_matches_total", shadow},
		{"falcoc_engine_events_total", map[string]string{"source": "syscall"}},
		{"falcoc_engine_alerts_total", map[string]string{"source": "syscall"}},
		{"falcoc_kernel_hook_calls_total", map[string]string{"syscall": "openat"}},
		{"falcoc_kernel_sent_total", map[string]string{"syscall": "openat"}},
		{"falcosecurity_scap_n_evts_total", nil},
		{"falcoc_output_sent_total", map[string]string{"output": "stdout"}},
	}
	for _, m := range moved {
		b, _ := value(before, m.name, m.labels)
		a, ok := value(after, m.name, m.labels)
		if !ok || a <= b {
			t.Errorf("%s%v: %v before the read, %v (found %v) after, want more", m.name, m.labels, b, a, ok)
		}
	}
	// The kernel prefilter drops the machine's other opens: that stage
	// counts too.
	if v, _ := value(after, "falcoc_kernel_prefilter_dropped_total", nil); v == 0 {
		t.Errorf("falcoc_kernel_prefilter_dropped_total is 0")
	}
	if _, ok := f.wait(0, 5*time.Second, func(a *alert) bool {
		return a.Rule == "Falco internal: metrics snapshot" && a.Priority == "Informational" && a.field("falco.num_evts") != "" &&
			a.field("falcoc.kernel.hook_calls") != ""
	}); !ok {
		t.Errorf("no metrics snapshot alert with falco.num_evts in 5s (metrics.interval=1s):\n%s", f.errText())
	}
	select {
	case body := <-received:
		if !strings.Contains(body, `"rule":`) {
			t.Errorf("http output posted %q", body)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("the http output posted nothing")
	}
	stderr, err := f.stop()
	if err != nil {
		t.Fatalf("falco-run: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr, "unknown key") || strings.Contains(stderr, "not supported") {
		t.Errorf("Falco's CI flags were warned about:\n%s", stderr)
	}
}

// watch_config_files (on by default, as Falco): a change to falco.yaml or
// to a rules file reloads the rules without a restart. Shown on a replay
// read from a FIFO, so that the events come after each change.
func TestWatchConfigFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const ruleA = "- rule: Shadow read\n  desc: d\n  condition: evt.type = openat and fd.name = /etc/shadow and proc.name = cat\n  output: \"A %proc.name\"\n  priority: WARNING\n"
	const ruleB = "- rule: Head read\n  desc: d\n  condition: evt.type = openat and proc.name = head\n  output: \"B %proc.name\"\n  priority: WARNING\n"
	write("rules.yaml", ruleA)
	cfg := "rules_files: [" + filepath.Join(dir, "rules.yaml") + "]\nsyslog_output: {enabled: false}\nappend_output: []\n"
	write("falco.yaml", cfg)
	fifo := filepath.Join(dir, "trace.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "falco-run"), "-c", filepath.Join(dir, "falco.yaml"), "-e", fifo)
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	catShadow := replayLine
	headLine := strings.ReplaceAll(strings.ReplaceAll(replayLine, `"cat"`, `"head"`), "/usr/bin/cat", "/usr/bin/head")
	headLine = strings.Replace(headLine, `"tid":101`, `"tid":102`, 1)
	waitFor := func(b *syncBuffer, text string, n int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for strings.Count(b.String(), text) < n {
			if time.Now().After(deadline) {
				t.Fatalf("no %d× %q after 15s\nstdout:\n%s\nstderr:\n%s", n, text, stdout, stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	send := func(line string) {
		t.Helper()
		if _, err := io.WriteString(w, line); err != nil {
			t.Fatal(err)
		}
	}
	send(catShadow)
	waitFor(stdout, "Warning A cat", 1)

	// A rules file changes: rule B appears.
	write("rules.yaml", ruleA+ruleB)
	waitFor(stderr, "rules reloaded", 1)
	send(headLine)
	waitFor(stdout, "Warning B head", 1)

	// falco.yaml changes: its rule selection now disables rule A.
	write("falco.yaml", cfg+"rules:\n  - disable: {rule: Shadow read}\n")
	waitFor(stderr, "rules reloaded", 2)
	send(catShadow)
	send(headLine)
	waitFor(stdout, "Warning B head", 2)
	if n := strings.Count(stdout.String(), "Warning A cat"); n != 1 {
		t.Errorf("rule A raised %d alerts, want 1 (it was disabled before the second read)\n%s", n, stdout)
	}
	w.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("falco-run: %v\n%s", err, stderr)
	}
}
