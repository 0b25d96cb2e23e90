package kmatrix

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// archiveKeyring verifies the suites' signatures: Debian's archive keys,
// as the machine's own sources use them.
const archiveKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// aptSuite is a private apt configuration and state for one suite of
// Debian's archive. It runs the machine's apt-get and apt-cache with
// APT_CONFIG pointing at its own apt.conf, which replaces every part of
// the machine's configuration that could matter (main file, parts,
// sources, preferences, lists, cache, dpkg status): the machine's apt
// configuration and state are never read for packages nor changed.
type aptSuite struct {
	dir    string // the state directory
	source string // the one-line sources.list entry
	log    io.Writer
}

// newAptSuite prepares the private state of suite from the archive at
// mirror ("http://.../debian") below dir.
func newAptSuite(dir, mirror, suite string, log io.Writer) (*aptSuite, error) {
	a := &aptSuite{
		dir:    dir,
		source: fmt.Sprintf("deb [signed-by=%s] %s %s main\n", archiveKeyring, strings.TrimRight(mirror, "/"), suite),
		log:    log,
	}
	for _, d := range []string{"lists/partial", "cache/archives/partial", "parts", "preferences.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("apt state for %s: %w", suite, err)
		}
	}
	conf := strings.Join([]string{
		`Dir::Etc::Main "/dev/null";`,
		`Dir::Etc::Parts "` + filepath.Join(dir, "parts") + `";`,
		`Dir::Etc::SourceList "` + filepath.Join(dir, "sources.list") + `";`,
		`Dir::Etc::SourceParts "/dev/null";`,
		`Dir::Etc::Preferences "/dev/null";`,
		`Dir::Etc::PreferencesParts "` + filepath.Join(dir, "preferences.d") + `";`,
		`Dir::State::Lists "` + filepath.Join(dir, "lists") + `";`,
		`Dir::State::status "` + filepath.Join(dir, "status") + `";`,
		`Dir::Cache "` + filepath.Join(dir, "cache") + `";`,
		`Acquire::Languages "none";`,
		`APT::Architectures { "amd64"; };`,
		// The archive's mirror may serve a frozen copy whose Release
		// files are past their Valid-Until; their signatures still count.
		`Acquire::Check-Valid-Until "false";`,
		// Downloads land in root-owned cache directories.
		`APT::Sandbox::User "root";`,
		"",
	}, "\n")
	files := map[string]string{"apt.conf": conf, "sources.list": a.source, "status": ""}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if old, err := os.ReadFile(p); err == nil && string(old) == content {
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, fmt.Errorf("apt state for %s: %w", suite, err)
		}
	}
	return a, nil
}

// command builds an apt-get or apt-cache command on the private state.
func (a *aptSuite) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "APT_CONFIG="+filepath.Join(a.dir, "apt.conf"), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	return cmd
}

// output runs apt-get or apt-cache and returns its standard output; an
// error carries the command and what it printed on standard error.
func (a *aptSuite) output(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := a.command(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// update fetches the suite's package lists unless they were fetched from
// the same source less than maxAge ago. When the fetch fails and older
// lists exist, it warns and keeps them.
func (a *aptSuite) update(ctx context.Context, maxAge time.Duration) error {
	stamp := filepath.Join(a.dir, "updated")
	if st, err := os.Stat(stamp); err == nil && time.Since(st.ModTime()) < maxAge {
		if old, err := os.ReadFile(stamp); err == nil && string(old) == a.source {
			return nil
		}
	}
	_, err := a.output(ctx, a.dir, "apt-get", "-q", "update")
	if err != nil {
		if _, serr := os.Stat(stamp); serr == nil {
			fmt.Fprintf(a.log, "warning: %v (using the package lists of an earlier run)\n", err)
			return nil
		}
		return err
	}
	return os.WriteFile(stamp, []byte(a.source), 0o644)
}

// pkgVersion is a package and its candidate version.
type pkgVersion struct {
	Name, Version string
}

// candidates returns the candidate version of every package of the
// suite whose name matches re.
func (a *aptSuite) candidates(ctx context.Context, prefix string, re *regexp.Regexp) ([]pkgVersion, error) {
	out, err := a.output(ctx, a.dir, "apt-cache", "pkgnames", prefix)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if re.MatchString(n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	return a.show(ctx, names...)
}

// show returns the candidate versions of the named packages.
func (a *aptSuite) show(ctx context.Context, names ...string) ([]pkgVersion, error) {
	out, err := a.output(ctx, a.dir, "apt-cache", append([]string{"show", "--no-all-versions"}, names...)...)
	if err != nil {
		return nil, err
	}
	var res []pkgVersion
	for _, st := range parseStanzas(out) {
		if st["Package"] != "" && st["Version"] != "" {
			res = append(res, pkgVersion{Name: st["Package"], Version: st["Version"]})
		}
	}
	return res, nil
}

// field returns a field of a package's candidate stanza.
func (a *aptSuite) field(ctx context.Context, p pkgVersion, field string) (string, error) {
	out, err := a.output(ctx, a.dir, "apt-cache", "show", p.Name+"="+p.Version)
	if err != nil {
		return "", err
	}
	st := parseStanzas(out)
	if len(st) == 0 {
		return "", fmt.Errorf("apt-cache show %s=%s: no record", p.Name, p.Version)
	}
	return st[0][field], nil
}

// download fetches a package into dir (apt-get download names the file)
// and returns the .deb's path.
func (a *aptSuite) download(ctx context.Context, p pkgVersion, dir string) (string, error) {
	tmp, err := os.MkdirTemp(dir, ".download-")
	if err != nil {
		return "", fmt.Errorf("download %s: %w", p.Name, err)
	}
	defer os.RemoveAll(tmp)
	if _, err := a.output(ctx, tmp, "apt-get", "-q", "download", p.Name+"="+p.Version); err != nil {
		return "", err
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("download %s=%s: %d .deb files", p.Name, p.Version, len(debs))
	}
	dst := filepath.Join(dir, filepath.Base(debs[0]))
	if err := os.Rename(debs[0], dst); err != nil {
		return "", fmt.Errorf("download %s: %w", p.Name, err)
	}
	return dst, nil
}

// parseStanzas splits apt-cache's output into records of fields
// (continuation lines are appended to their field).
func parseStanzas(out []byte) []map[string]string {
	var res []map[string]string
	cur := map[string]string{}
	last := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(cur) > 0 {
				res = append(res, cur)
				cur, last = map[string]string{}, ""
			}
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				cur[last] += "\n" + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if ok {
				last = k
				cur[k] = strings.TrimSpace(v)
			}
		}
	}
	if len(cur) > 0 {
		res = append(res, cur)
	}
	return res
}

// machineMirrors reads the machine's apt sources (through apt-get
// indextargets, without changing anything) and returns the URIs it uses
// for Debian's main archive and for its security archive.
func machineMirrors(ctx context.Context) (debian, security string, err error) {
	cmd := exec.CommandContext(ctx, "apt-get", "indextargets", "--format", "$(REPO_URI)|$(RELEASE)")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("read the machine's apt sources (apt-get indextargets): %w", err)
	}
	debian, security = parseIndexTargets(string(out))
	if debian == "" || security == "" {
		return debian, security, errors.New("the machine's apt sources name no Debian archive and security archive (run apt-get update, or give -mirror and -security-mirror)")
	}
	return debian, security, nil
}

// parseIndexTargets picks, from `apt-get indextargets` lines
// "REPO_URI|RELEASE", the URI of Debian's archive and of its security
// archive.
func parseIndexTargets(out string) (debian, security string) {
	// Prefer a URI whose path ends in /debian (the archive's usual name)
	// over any other source of a non-security suite.
	other := ""
	for _, line := range strings.Split(out, "\n") {
		uri, rel, ok := strings.Cut(strings.TrimSpace(line), "|")
		if !ok {
			continue
		}
		uri = strings.TrimRight(uri, "/")
		switch {
		case strings.HasSuffix(rel, "-security"):
			if security == "" {
				security = uri
			}
		case strings.HasSuffix(uri, "/debian"):
			if debian == "" {
				debian = uri
			}
		case other == "":
			other = uri
		}
	}
	if debian == "" {
		debian = other
	}
	return debian, security
}
