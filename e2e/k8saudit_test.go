package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const k8sRules = `
- rule: Shell in trace
  desc: a syscall rule next to the k8s_audit ones
  condition: evt.type = execve and proc.name = nosuchshell
  output: "shell %proc.name"
  priority: WARNING
- macro: kcreate
  condition: ka.verb = create
- rule: Privileged pod created
  desc: a pod with a privileged container
  condition: kcreate and ka.target.resource = pods and ka.req.pod.containers.privileged intersects (true)
  output: "Privileged pod (user=%ka.user.name pod=%ka.target.namespace/%ka.target.name image=%ka.req.container.image)"
  priority: WARNING
  source: k8s_audit
  tags: [k8s, pod]
- rule: Exec into pod
  desc: kubectl exec
  condition: ka.target.subresource = exec and ka.uri.param[command] in (sh, bash)
  output: "Exec (user=%ka.user.name pod=%ka.target.name cmd=%ka.uri.param[command] groups=%ka.user.groups)"
  priority: NOTICE
  source: k8s_audit
`

// An EventList with two events, as the API server's webhook posts them.
const k8sList = `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[
{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","stage":"ResponseComplete","verb":"create",
 "requestURI":"/api/v1/namespaces/web/pods","user":{"username":"alice","groups":["devs"]},
 "objectRef":{"resource":"pods","namespace":"web","name":"nginx-1"},
 "requestObject":{"kind":"Pod","spec":{"containers":[{"name":"c","image":"nginx:1.27","securityContext":{"privileged":true}}]}},
 "requestReceivedTimestamp":"2026-11-26T09:15:00.000001Z","stageTimestamp":"2026-11-26T09:15:00.250000Z"},
{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a2","stage":"ResponseComplete","verb":"create",
 "requestURI":"/api/v1/namespaces/web/pods","user":{"username":"alice"},
 "objectRef":{"resource":"pods","namespace":"web","name":"nginx-2"},
 "requestObject":{"kind":"Pod","spec":{"containers":[{"name":"c","image":"nginx:1.27"}]}},
 "stageTimestamp":"2026-11-26T09:15:01Z"}]}`

// A single Event.
const k8sExec = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a3","stage":"ResponseStarted","verb":"create",
 "requestURI":"/api/v1/namespaces/web/pods/nginx-1/exec?command=sh&container=c&stdin=true&tty=true",
 "user":{"username":"bob","groups":["ops","system:authenticated"]},
 "objectRef":{"resource":"pods","namespace":"web","name":"nginx-1","subresource":"exec"},
 "stageTimestamp":"2026-11-26T09:16:00.5Z"}`

var webhookLine = regexp.MustCompile(`k8s audit webhook listening on (http://\S+)`)

// webhookRun is one run of falco-run with the k8s audit webhook.
type webhookRun struct {
	stdout, stderr string
	codes          []int // HTTP status of each post
	err            error // falco-run's exit error, or a start failure
	started        bool  // the webhook started
}

// runWebhook starts falco-run on an empty trace with rules and the webhook
// on a free local port, posts bodies one request each, stops it with
// SIGINT and returns what it printed. A falco-run that exits before the
// webhook starts (rules that do not load) is not a test failure: the
// result says so.
func runWebhook(t *testing.T, rules []string, bodies []string, args ...string) webhookRun {
	t.Helper()
	trace := filepath.Join(t.TempDir(), "empty.jsonl")
	if err := os.WriteFile(trace, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var base []string
	for _, r := range rules {
		base = append(base, "-r", r)
	}
	base = append(base, "-e", trace, "-o", "syslog_output.enabled=false",
		"-o", "load_plugins=[k8saudit, json]",
		"-o", "plugins[0].name=k8saudit",
		"-o", "plugins[0].open_params=http://127.0.0.1:0/k8s-audit")
	cmd := exec.Command(filepath.Join(bin, "falco-run"), append(base, args...)...)
	cmd.Env = append(os.Environ(), "FALCO_HOSTNAME=test-host", "TZ=UTC")
	var out strings.Builder
	cmd.Stdout = &out
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	sc := bufio.NewScanner(errPipe)
	var errText strings.Builder
	url := ""
	for url == "" && sc.Scan() {
		errText.WriteString(sc.Text() + "\n")
		if m := webhookLine.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		rest, _ := io.ReadAll(errPipe)
		errText.Write(rest)
		err := cmd.Wait()
		if err == nil {
			err = errors.New("falco-run exited without starting the webhook")
		}
		return webhookRun{stdout: out.String(), stderr: errText.String(), err: err}
	}
	r := webhookRun{started: true}
	for _, b := range bodies {
		resp, err := http.Post(url, "application/json", strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		r.codes = append(r.codes, resp.StatusCode)
	}
	// Accepted events are queued: SIGINT makes falco-run evaluate what
	// is queued, flush the outputs and exit.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(errPipe)
	errText.Write(rest)
	r.err = cmd.Wait()
	r.stdout, r.stderr = out.String(), errText.String()
	return r
}

// runK8sFalco runs the rules of k8sRules on the two test requests and a
// broken one.
func runK8sFalco(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	rules := filepath.Join(t.TempDir(), "k8s_rules.yaml")
	if err := os.WriteFile(rules, []byte(k8sRules), 0o644); err != nil {
		t.Fatal(err)
	}
	posts := []struct {
		body string
		code int
	}{
		{k8sList, http.StatusOK},
		{k8sExec, http.StatusOK},
		{`{"kind":"EventList","items":[{"kind":"Event"},`, http.StatusBadRequest},
	}
	var bodies []string
	for _, p := range posts {
		bodies = append(bodies, p.body)
	}
	r := runWebhook(t, []string{rules}, bodies, args...)
	if r.err != nil {
		t.Fatalf("falco-run: %v\n%s", r.err, r.stderr)
	}
	for i, p := range posts {
		if r.codes[i] != p.code {
			t.Errorf("POST %.40s...: status %d, want %d", p.body, r.codes[i], p.code)
		}
	}
	return r.stdout, r.stderr
}

func TestK8sAuditWebhook(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"text", nil, `09:15:00.250000000: Warning Privileged pod (user=alice pod=web/nginx-1 image=nginx:1.27)
09:16:00.500000000: Notice Exec (user=bob pod=nginx-1 cmd=sh groups=(ops,system:authenticated))
`},
		{"json", []string{"-o", "json_output=true"}, `{"hostname":"test-host","output":"09:15:00.250000000: Warning Privileged pod (user=alice pod=web/nginx-1 image=nginx:1.27)","output_fields":{"evt.time":1795684500250000000,"ka.req.container.image":"nginx:1.27","ka.target.name":"nginx-1","ka.target.namespace":"web","ka.user.name":"alice"},"priority":"Warning","rule":"Privileged pod created","source":"k8s_audit","tags":["k8s","pod"],"time":"2026-11-26T09:15:00.250000000Z"}
{"hostname":"test-host","output":"09:16:00.500000000: Notice Exec (user=bob pod=nginx-1 cmd=sh groups=(ops,system:authenticated))","output_fields":{"evt.time":1795684560500000000,"ka.target.name":"nginx-1","ka.uri.param[command]":"sh","ka.user.groups":["ops","system:authenticated"],"ka.user.name":"bob"},"priority":"Notice","rule":"Exec into pod","source":"k8s_audit","tags":[],"time":"2026-11-26T09:16:00.500000000Z"}
`},
		{"priority filter", []string{"-o", "priority=warning"}, `09:15:00.250000000: Warning Privileged pod (user=alice pod=web/nginx-1 image=nginx:1.27)
`},
		{"append_output", []string{"-o", "append_output[]={match: {source: k8s_audit}, extra_output: \"audit=%ka.auditid\"}"},
			`09:15:00.250000000: Warning Privileged pod (user=alice pod=web/nginx-1 image=nginx:1.27) audit=a1
09:16:00.500000000: Notice Exec (user=bob pod=nginx-1 cmd=sh groups=(ops,system:authenticated)) audit=a3
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr := runK8sFalco(t, tc.args...)
			if d := cmp.Diff(tc.want, stdout); d != "" {
				t.Errorf("alerts (-want +got):\n%s\nstderr:\n%s", d, stderr)
			}
			// The exit summary counts the k8s audit alerts too.
			n := strings.Count(tc.want, "\n")
			if !strings.Contains(stderr, fmt.Sprintf("K8s audit: events 3, malformed 1, dropped 0, matches %d, alerts %d\n", n, n)) {
				t.Errorf("no webhook counters in stderr:\n%s", stderr)
			}
			if !strings.Contains(stderr, fmt.Sprintf(", alerts: %d\n", n)) {
				t.Errorf("the exit summary does not count %d k8s audit alerts:\n%s", n, stderr)
			}
		})
	}
}

// Without k8s_audit rules and without load_plugins, falco-run opens no
// port and a replay ends at the end of the trace.
func TestK8sAuditOffWithoutRules(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	trace := filepath.Join(dir, "empty.jsonl")
	if err := os.WriteFile(rules, []byte(k8sRules[:strings.Index(k8sRules, "- macro:")]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trace, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(bin, "falco-run"), "-r", rules, "-e", trace, "-o", "syslog_output.enabled=false").CombinedOutput()
	if err != nil {
		t.Fatalf("falco-run: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "k8s audit") || strings.Contains(string(out), "K8s audit") {
		t.Errorf("webhook started without k8s_audit rules:\n%s", out)
	}
}

// The webhook runs next to live capture: both sources' alerts reach the
// outputs.
func TestK8sAuditLive(t *testing.T) {
	requireLive(t)
	rules := filepath.Join(t.TempDir(), "k8s_rules.yaml")
	if err := os.WriteFile(rules, []byte(k8sRules), 0o644); err != nil {
		t.Fatal(err)
	}
	f := startFalco(t, "-r", rules,
		"-o", "plugins[0].name=k8saudit", "-o", "plugins[0].open_params=http://127.0.0.1:0/k8s-audit")
	m := webhookLine.FindStringSubmatch(f.errText())
	if m == nil {
		t.Fatalf("no webhook line:\n%s", f.errText())
	}
	resp, err := http.Post(m[1], "application/json", strings.NewReader(k8sExec))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST: status %d", resp.StatusCode)
	}
	stderr, err := f.stop() // evaluates what is queued before exiting
	if err != nil {
		t.Fatalf("falco-run: %v\n%s", err, stderr)
	}
	var got []string
	for _, a := range f.all() {
		if a.Rule == "Exec into pod" {
			// The prefix time is in the local zone: leave it out.
			_, msg, _ := strings.Cut(a.Output, ": ")
			got = append(got, msg+" "+a.field("ka.user.name"))
		}
	}
	want := []string{"Notice Exec (user=bob pod=nginx-1 cmd=sh groups=(ops,system:authenticated)) bob"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("k8s alerts (-want +got):\n%s\nstderr:\n%s", d, stderr)
	}
	if !strings.Contains(stderr, "K8s audit: events 1, malformed 0, dropped 0, matches 1, alerts 1\n") {
		t.Errorf("no webhook counters in stderr:\n%s", stderr)
	}
}

// SIGHUP reloads the k8s_audit rules too: once falco-run says the rules
// are reloaded, the webhook runs the new ones.
func TestK8sAuditReload(t *testing.T) {
	requireLive(t)
	rules := filepath.Join(t.TempDir(), "k8s_rules.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(rules, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(k8sRules)
	f := startFalco(t, "-r", rules,
		"-o", "plugins[0].name=k8saudit", "-o", "plugins[0].open_params=http://127.0.0.1:0/k8s-audit")
	m := webhookLine.FindStringSubmatch(f.errText())
	if m == nil {
		t.Fatalf("no webhook line:\n%s", f.errText())
	}
	postExec := func() {
		t.Helper()
		resp, err := http.Post(m[1], "application/json", strings.NewReader(k8sExec))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST: status %d", resp.StatusCode)
		}
	}
	postExec()
	// The request is queued: let the old rules evaluate it before the swap.
	if _, ok := f.wait(0, 20*time.Second, func(a *alert) bool { return a.Rule == "Exec into pod" }); !ok {
		t.Fatalf("no alert before the reload:\n%s", f.errText())
	}
	write(strings.ReplaceAll(k8sRules, "rule: Exec into pod", "rule: Exec into pod v2"))
	if err := f.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(f.errText(), "rules reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("falco-run did not reload:\n%s", f.errText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	postExec()
	stderr, err := f.stop()
	if err != nil {
		t.Fatalf("falco-run: %v\n%s", err, stderr)
	}
	var got []string
	for _, a := range f.all() {
		if strings.HasPrefix(a.Rule, "Exec into pod") {
			got = append(got, a.Rule)
		}
	}
	if d := cmp.Diff([]string{"Exec into pod", "Exec into pod v2"}, got); d != "" {
		t.Errorf("k8s alerts (-want +got):\n%s\nstderr:\n%s", d, stderr)
	}
}
