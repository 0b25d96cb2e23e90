package extract

import (
	"fmt"
	"math"

	"github.com/falcoc/falcoc/runtime/state"
	"github.com/falcoc/falcoc/runtime/vm"
)

// ancestorF builds proc.aname-style fields: with an index N, f of the
// Nth ancestor (0 is the process itself); without, a list of f over all
// ancestors (parent first) — in a condition `proc.aname = x` then matches
// when any ancestor matches.
func ancestorF(f func(th *state.Thread) string) builder {
	return func(ref vm.FieldRef) (extractor, error) {
		n, err := index(ref)
		if err != nil {
			return nil, err
		}
		if n >= 0 {
			return func(e *Env, v *vm.Value) bool {
				th := e.thread()
				if th == nil {
					return false
				}
				a := th.Ancestor(n)
				return a != nil && setStr(v, f(a))
			}, nil
		}
		var list []string
		return func(e *Env, v *vm.Value) bool {
			th := e.thread()
			if th == nil {
				return false
			}
			list = list[:0]
			th.Ancestors(func(a *state.Thread) bool {
				list = append(list, f(a))
				return true
			})
			if len(list) == 0 {
				return false
			}
			*v = vm.Value{Kind: vm.KindList, L: list}
			return true
		}, nil
	}
}

// parentF reads the parent's main thread.
func parentF(f func(th *state.Thread) string) builder {
	return strF(func(e *Env) (string, bool) {
		th := e.thread()
		if th == nil {
			return "", false
		}
		p := th.Parent()
		if p == nil {
			return "", false
		}
		return f(p), true
	})
}

// leaderF reads a group leader (session or process group).
func leaderF(leader func(th *state.Thread) *state.Thread, f func(th *state.Thread) string) builder {
	return strF(func(e *Env) (string, bool) {
		th := e.thread()
		if th == nil {
			return "", false
		}
		l := leader(th)
		if l == nil {
			return "", false
		}
		return f(l), true
	})
}

func comm(th *state.Thread) string    { return th.Comm() }
func exe(th *state.Thread) string     { return th.Exe() }
func exePath(th *state.Thread) string { return th.ExePath() }
func cmdline(th *state.Thread) string { return th.Cmdline() }
func args(th *state.Thread) string    { return th.Proc().ArgsString() }

// vpgidLeader is the process group leader seen from the namespace.
func vpgidLeader(th *state.Thread) *state.Thread { return th.VpgidLeader() }

// shells are the names proc.loginshellid looks for.
var shells = map[string]bool{
	"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "mksh": true,
	"csh": true, "tcsh": true, "fish": true, "ash": true, "busybox": true,
}

func procFields(r map[string]builder) {
	procExeFields(r)
	procIDFields(r)
	procTimeFields(r)
	threadFields(r)
}

// procExeFields registers the program fields: exe, name, args, command
// line, environment, cwd.
func procExeFields(r map[string]builder) {
	r["proc.exe"] = thStr(exe)
	r["proc.pexe"] = parentF(exe)
	r["proc.aexe"] = ancestorF(exe)
	r["proc.exepath"] = thStr(exePath)
	r["proc.pexepath"] = parentF(exePath)
	r["proc.aexepath"] = ancestorF(exePath)
	r["proc.name"] = thStr(comm)
	r["proc.pname"] = parentF(comm)
	r["proc.aname"] = ancestorF(comm)
	r["proc.args"] = func(ref vm.FieldRef) (extractor, error) {
		n, err := index(ref)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return thStr(args)(ref)
		}
		return func(e *Env, v *vm.Value) bool {
			th := e.thread()
			if th == nil || n >= len(th.Args()) {
				return false
			}
			return setStr(v, th.Args()[n])
		}, nil
	}
	r["proc.aargs"] = ancestorF(args)
	r["proc.cmdline"] = thStr(cmdline)
	r["proc.pcmdline"] = parentF(cmdline)
	r["proc.acmdline"] = ancestorF(cmdline)
	r["proc.cmdnargs"] = thUint(func(th *state.Thread) uint64 { return uint64(len(th.Args())) })
	r["proc.cmdlenargs"] = thUint(func(th *state.Thread) uint64 { return uint64(th.Proc().CmdLenArgs()) })
	r["proc.exeline"] = thStr(func(th *state.Thread) string { return th.Proc().Exeline() })
	r["proc.env"] = func(ref vm.FieldRef) (extractor, error) {
		if !ref.HasArg {
			return thStr(func(th *state.Thread) string { return th.Proc().EnvString() })(ref)
		}
		key := ref.Arg
		return func(e *Env, v *vm.Value) bool {
			th := e.thread()
			if th == nil {
				return false
			}
			s, ok := th.Proc().EnvVar(key)
			return ok && setStr(v, s)
		}, nil
	}
	r["proc.aenv"] = aenvField
	r["proc.cwd"] = thStr(func(th *state.Thread) string { return th.Cwd() })
}

// procIDFields registers the id fields: login shell, tty, pids, session
// and process group and their leaders.
func procIDFields(r map[string]builder) {
	r["proc.loginshellid"] = intF(func(e *Env) (int64, bool) {
		th := e.thread()
		if th == nil {
			return 0, false
		}
		var id int64
		found := false
		if shells[th.Comm()] {
			id, found = th.Pid(), true
		}
		th.Ancestors(func(a *state.Thread) bool {
			if shells[a.Comm()] {
				id, found = a.Pid(), true
			}
			return true
		})
		return id, found
	})
	r["proc.tty"] = thUint(func(th *state.Thread) uint64 { return uint64(th.Proc().TTY) })
	r["proc.pid"] = thInt(func(th *state.Thread) int64 { return th.Pid() })
	r["proc.ppid"] = thInt(func(th *state.Thread) int64 { return th.Proc().PPid })
	r["proc.apid"] = func(ref vm.FieldRef) (extractor, error) {
		n, err := index(ref)
		if err != nil {
			return nil, err
		}
		if n >= 0 {
			return func(e *Env, v *vm.Value) bool {
				th := e.thread()
				if th == nil {
					return false
				}
				a := th.Ancestor(n)
				return a != nil && setInt(v, a.Pid())
			}, nil
		}
		// Without an index: the pids as text, one per ancestor, so that
		// the VM's "any element" rule applies.
		var list []string
		var bufs [][]byte
		return func(e *Env, v *vm.Value) bool {
			th := e.thread()
			if th == nil {
				return false
			}
			list = list[:0]
			i := 0
			th.Ancestors(func(a *state.Thread) bool {
				if i == len(bufs) {
					bufs = append(bufs, nil)
				}
				bufs[i] = fmt.Appendf(bufs[i][:0], "%d", a.Pid())
				list = append(list, string(bufs[i]))
				i++
				return true
			})
			if len(list) == 0 {
				return false
			}
			*v = vm.Value{Kind: vm.KindList, L: list}
			return true
		}, nil
	}
	r["proc.vpid"] = thInt(func(th *state.Thread) int64 { return th.Proc().Vpid })
	r["proc.pvpid"] = intF(func(e *Env) (int64, bool) {
		th := e.thread()
		if th == nil || th.Parent() == nil {
			return 0, false
		}
		return th.Parent().Proc().Vpid, true
	})
	r["proc.sid"] = thInt(func(th *state.Thread) int64 { return th.Proc().Sid })
	sess := func(th *state.Thread) *state.Thread { return th.SessionLeader() }
	r["proc.sname"] = leaderF(sess, comm)
	r["proc.sid.exe"] = leaderF(sess, exe)
	r["proc.sid.exepath"] = leaderF(sess, exePath)
	r["proc.vpgid"] = thInt(func(th *state.Thread) int64 { return th.Proc().Vpgid })
	r["proc.vpgid.name"] = leaderF(vpgidLeader, comm)
	r["proc.vpgid.exe"] = leaderF(vpgidLeader, exe)
	r["proc.vpgid.exepath"] = leaderF(vpgidLeader, exePath)
	r["proc.pgid"] = thInt(func(th *state.Thread) int64 { return th.Proc().Pgid })
	pg := func(th *state.Thread) *state.Thread { return th.PgidLeader() }
	r["proc.pgid.name"] = leaderF(pg, comm)
	r["proc.pgid.exe"] = leaderF(pg, exe)
	r["proc.pgid.exepath"] = leaderF(pg, exePath)
}

// procTimeFields registers the start times, durations and executable
// file facts.
func procTimeFields(r map[string]builder) {
	r["proc.duration"] = uintF(func(e *Env) (uint64, bool) {
		th := e.thread()
		if th == nil || th.Proc().StartTS == 0 {
			return 0, false
		}
		return th.Duration(uint64(e.ev.Ts)), true
	})
	r["proc.ppid.duration"] = uintF(func(e *Env) (uint64, bool) {
		th := e.thread()
		if th == nil || th.Parent() == nil || th.Parent().Proc().StartTS == 0 {
			return 0, false
		}
		return th.Parent().Duration(uint64(e.ev.Ts)), true
	})
	r["proc.pid.ts"] = uintF(func(e *Env) (uint64, bool) {
		th := e.thread()
		if th == nil || th.Proc().StartTS == 0 {
			return 0, false
		}
		return th.Proc().StartTS, true
	})
	r["proc.ppid.ts"] = uintF(func(e *Env) (uint64, bool) {
		th := e.thread()
		if th == nil || th.Parent() == nil || th.Parent().Proc().StartTS == 0 {
			return 0, false
		}
		return th.Parent().Proc().StartTS, true
	})
	r["proc.is_exe_writable"] = thBool(func(th *state.Thread) bool { return th.Proc().ExeWritable })
	r["proc.is_exe_upper_layer"] = thBool(func(th *state.Thread) bool { return th.Proc().ExeUpperLayer })
	r["proc.is_exe_lower_layer"] = thBool(func(th *state.Thread) bool { return th.Proc().ExeLowerLayer })
	r["proc.is_exe_from_memfd"] = thBool(func(th *state.Thread) bool { return th.Proc().ExeFromMemfd })
	r["proc.is_sid_leader"] = thBool(func(th *state.Thread) bool { return th.Proc().Sid == th.Proc().Vpid })
	r["proc.is_vpgid_leader"] = thBool(func(th *state.Thread) bool { return th.Proc().Vpgid == th.Proc().Vpid })
	r["proc.is_pgid_leader"] = thBool(func(th *state.Thread) bool { return th.Proc().Pgid == th.Pid() })
	r["proc.exe_ino"] = intF(func(e *Env) (int64, bool) {
		th := e.thread()
		if th == nil || th.Proc().ExeIno == 0 {
			return 0, false
		}
		return int64(th.Proc().ExeIno), true
	})
	exeTime := func(get func(p *state.Process) (uint64, bool)) builder {
		return uintF(func(e *Env) (uint64, bool) {
			th := e.thread()
			if th == nil {
				return 0, false
			}
			return get(th.Proc())
		})
	}
	r["proc.exe_ino.ctime"] = exeTime(func(p *state.Process) (uint64, bool) { return p.ExeCtime, p.ExeCtime != 0 })
	r["proc.exe_ino.mtime"] = exeTime(func(p *state.Process) (uint64, bool) { return p.ExeMtime, p.ExeMtime != 0 })
	r["proc.exe_ino.ctime_duration_proc_start"] = exeTime(func(p *state.Process) (uint64, bool) {
		start := p.ExecTS
		if start == 0 {
			start = p.StartTS
		}
		if p.ExeCtime == 0 || start < p.ExeCtime {
			return 0, false
		}
		return start - p.ExeCtime, true
	})
	r["proc.exe_ino.ctime_duration_pidns_start"] = exeTime(func(p *state.Process) (uint64, bool) {
		if p.ExeCtime == 0 || p.PidNSInitStart == 0 || p.ExeCtime < p.PidNSInitStart {
			return 0, false
		}
		return p.ExeCtime - p.PidNSInitStart, true
	})
	r["proc.pidns_init_start_ts"] = exeTime(func(p *state.Process) (uint64, bool) { return p.PidNSInitStart, p.PidNSInitStart != 0 })
}

// threadFields registers the capability, descriptor, memory and thread fields.
func threadFields(r map[string]builder) {
	r["thread.cap_permitted"] = thStr(func(th *state.Thread) string { return th.CapPermitted() })
	r["thread.cap_inheritable"] = thStr(func(th *state.Thread) string { return th.CapInheritable() })
	r["thread.cap_effective"] = thStr(func(th *state.Thread) string { return th.CapEffective() })
	r["proc.fdopencount"] = thUint(func(th *state.Thread) uint64 { return uint64(th.Proc().FDs().Len()) })
	// Resource figures come with the events that report them (clone,
	// execve): missing on other events.
	r["proc.fdlimit"] = intF(func(e *Env) (int64, bool) { return e.ev.Int("fdlimit") })
	r["proc.fdusage"] = func(vm.FieldRef) (extractor, error) {
		return func(e *Env, v *vm.Value) bool {
			lim, ok := e.ev.Int("fdlimit")
			th := e.thread()
			if !ok || lim <= 0 || th == nil {
				return false
			}
			u := float64(th.Proc().FDs().Len()) * 100 / float64(lim)
			*v = vm.Value{Kind: vm.KindDouble, U: math.Float64bits(u)}
			return true
		}, nil
	}
	paramU := func(name string) builder {
		return uintF(func(e *Env) (uint64, bool) { return e.ev.Uint(name) })
	}
	r["proc.vmsize"] = paramU("vm_size")
	r["proc.vmrss"] = paramU("vm_rss")
	r["proc.vmswap"] = paramU("vm_swap")
	r["thread.pfmajor"] = paramU("pgft_maj")
	r["thread.pfminor"] = paramU("pgft_min")
	mainOnly := func(name string) builder {
		return uintF(func(e *Env) (uint64, bool) {
			n, ok := e.ev.Uint(name)
			th := e.thread()
			if !ok || th == nil {
				return 0, false
			}
			if !th.IsMain() {
				return 0, true
			}
			return n, true
		})
	}
	r["thread.vmsize"] = mainOnly("vm_size")
	r["thread.vmrss"] = mainOnly("vm_rss")
	r["thread.tid"] = thInt(func(th *state.Thread) int64 { return th.Tid })
	r["thread.ismain"] = thBool(func(th *state.Thread) bool { return th.IsMain() })
	r["thread.vtid"] = thInt(func(th *state.Thread) int64 { return th.Vtid })
	r["thread.cgroups"] = thStr(func(th *state.Thread) string { return th.Proc().CgroupsString() })
	r["thread.cgroup"] = func(ref vm.FieldRef) (extractor, error) {
		ctrl := ref.Arg
		return func(e *Env, v *vm.Value) bool {
			th := e.thread()
			if th == nil {
				return false
			}
			s, ok := th.Proc().Cgroup(ctrl)
			return ok && setStr(v, s)
		}, nil
	}
	r["proc.nthreads"] = thUint(func(th *state.Thread) uint64 { return uint64(th.Proc().Threads()) })
	r["proc.nchilds"] = thUint(func(th *state.Thread) uint64 {
		if n := th.Proc().Threads(); n > 1 {
			return uint64(n - 1)
		}
		return 0
	})
	for i, std := range []string{"stdin", "stdout", "stderr"} {
		num := int64(i)
		r["proc."+std+".type"] = strF(func(e *Env) (string, bool) {
			th := e.thread()
			if th == nil {
				return "", false
			}
			f := th.FD(num)
			if f == nil {
				return "", false
			}
			return f.Type.String(), true
		})
		r["proc."+std+".name"] = strF(func(e *Env) (string, bool) {
			th := e.thread()
			if th == nil {
				return "", false
			}
			f := th.FD(num)
			if f == nil {
				return "", false
			}
			return f.Name(), true
		})
	}
}

// aenvField is proc.aenv: without argument the environments of all
// ancestors (a list); with an index the Nth ancestor's environment; with
// a name the value of that variable in the nearest ancestor (at most 20
// levels up) that has it.
func aenvField(ref vm.FieldRef) (extractor, error) {
	envStr := func(th *state.Thread) string { return th.Proc().EnvString() }
	if !ref.HasArg {
		return ancestorF(envStr)(ref)
	}
	if n, err := index(ref); err == nil {
		return func(e *Env, v *vm.Value) bool {
			th := e.thread()
			if th == nil {
				return false
			}
			a := th.Ancestor(n)
			return a != nil && setStr(v, envStr(a))
		}, nil
	}
	key := ref.Arg
	return func(e *Env, v *vm.Value) bool {
		th := e.thread()
		if th == nil {
			return false
		}
		var val string
		found := false
		depth := 0
		th.Ancestors(func(a *state.Thread) bool {
			if depth++; depth > 20 {
				return false
			}
			val, found = a.Proc().EnvVar(key)
			return !found
		})
		return found && setStr(v, val)
	}, nil
}
