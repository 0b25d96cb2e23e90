package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Resources are falco-run's and the host's resource figures, as Falco's
// resource_utilization metrics report them. A figure that could not be
// read is 0 and its error is in Errors.
type Resources struct {
	// CPUUsageRatio is the process's CPU time over its wall time since it
	// started (1.0 = one CPU busy), as Falco's cpu_usage_perc / 100.
	CPUUsageRatio float64
	// Memory of the process, in bytes.
	RSS, VSZ, PSS uint64
	// ContainerMemory is the memory.current of the process's cgroup (v2).
	ContainerMemory uint64

	// Host figures.
	HostBoot          time.Time
	HostCPUUsageRatio float64 // busy CPU time over all CPU time since boot
	HostMemoryUsed    uint64  // MemTotal - MemAvailable, bytes
	HostNumCPUs       int
	HostProcsRunning  uint64
	HostOpenFds       uint64

	Errors []error
}

// ReadResources reads the figures from /proc (root) and the process's
// cgroup; proc is normally "/proc".
func ReadResources(proc string) Resources {
	var r Resources
	fail := func(err error) { r.Errors = append(r.Errors, err) }
	r.HostNumCPUs = runtime.NumCPU()
	stat, err := readStat(proc)
	if err != nil {
		fail(err)
	} else {
		r.HostBoot = time.Unix(stat.btime, 0)
		r.HostProcsRunning = stat.procsRunning
		if stat.total > 0 {
			r.HostCPUUsageRatio = float64(stat.total-stat.idle) / float64(stat.total)
		}
	}
	if err := r.readSelf(proc, stat); err != nil {
		fail(err)
	}
	if m, err := readKV(filepath.Join(proc, "meminfo")); err != nil {
		fail(err)
	} else if m["MemTotal"] >= m["MemAvailable"] {
		r.HostMemoryUsed = (m["MemTotal"] - m["MemAvailable"]) * 1024
	}
	if b, err := os.ReadFile(filepath.Join(proc, "sys/fs/file-nr")); err != nil {
		fail(err)
	} else if f := strings.Fields(string(b)); len(f) > 0 {
		r.HostOpenFds, _ = strconv.ParseUint(f[0], 10, 64)
	}
	if b, err := os.ReadFile(filepath.Join(proc, "self/cgroup")); err == nil {
		// cgroup v2: "0::/path"
		for _, line := range strings.Split(string(b), "\n") {
			if p, ok := strings.CutPrefix(line, "0::"); ok {
				if c, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", p, "memory.current")); err == nil {
					r.ContainerMemory, _ = strconv.ParseUint(strings.TrimSpace(string(c)), 10, 64)
				}
			}
		}
	}
	return r
}

type procStat struct {
	btime        int64
	procsRunning uint64
	total, idle  uint64
	userHZ       float64
}

// readStat reads /proc/stat: boot time, running processes and the CPU
// totals since boot.
func readStat(proc string) (procStat, error) {
	s := procStat{userHZ: 100}
	f, err := os.Open(filepath.Join(proc, "stat"))
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "cpu":
			for i, v := range fields[1:] {
				n, _ := strconv.ParseUint(v, 10, 64)
				if i >= 8 { // guest time is already in user and nice
					break
				}
				s.total += n
				if i == 3 || i == 4 { // idle, iowait
					s.idle += n
				}
			}
		case "btime":
			s.btime, _ = strconv.ParseInt(fields[1], 10, 64)
		case "procs_running":
			s.procsRunning, _ = strconv.ParseUint(fields[1], 10, 64)
		}
	}
	return s, sc.Err()
}

// readSelf reads the process's memory (status, smaps_rollup) and CPU time
// (stat).
func (r *Resources) readSelf(proc string, st procStat) error {
	m, err := readKV(filepath.Join(proc, "self/status"))
	if err != nil {
		return err
	}
	r.RSS, r.VSZ = m["VmRSS"]*1024, m["VmSize"]*1024
	if sm, err := readKV(filepath.Join(proc, "self/smaps_rollup")); err == nil {
		r.PSS = sm["Pss"] * 1024
	}
	b, err := os.ReadFile(filepath.Join(proc, "self/stat"))
	if err != nil {
		return err
	}
	// The command may contain spaces and parentheses: fields start after
	// the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return fmt.Errorf("%s/self/stat: no ')'", proc)
	}
	f := strings.Fields(string(b[i+1:]))
	// After ')': state(0) ... utime(11) stime(12) ... starttime(19).
	if len(f) < 20 {
		return fmt.Errorf("%s/self/stat: %d fields", proc, len(f))
	}
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	start, _ := strconv.ParseUint(f[19], 10, 64)
	if st.btime > 0 {
		started := time.Unix(st.btime, 0).Add(time.Duration(float64(start) / st.userHZ * float64(time.Second)))
		if wall := time.Since(started).Seconds(); wall > 0 {
			r.CPUUsageRatio = float64(utime+stime) / st.userHZ / wall
		}
	}
	return nil
}

// readKV reads "Key: value [kB]" lines as numbers.
func readKV(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		if n, err := strconv.ParseUint(f[0], 10, 64); err == nil {
			m[k] = n
		}
	}
	return m, nil
}
