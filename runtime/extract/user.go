package extract

import (
	"github.com/falcoc/falcoc/runtime/state"
)

// The user and group fields use the effective ids: a setuid program runs
// as its owner, as Falco reports it.

func (e *Env) user() (state.User, bool) {
	th := e.thread()
	if th == nil || e.deps.Users == nil {
		return state.User{}, false
	}
	return e.deps.Users.User(th.Proc().ContainerID, th.Pid(), th.Creds.EUID)
}

func userFields(r map[string]builder) {
	r["user.uid"] = thUint(func(th *state.Thread) uint64 { return uint64(th.Creds.EUID) })
	// As Falco: a uid without a passwd entry is "root" (homedir "/root")
	// for uid 0 and the string <NA> otherwise, a value and not a missing
	// field.
	r["user.name"] = strF(func(e *Env) (string, bool) {
		u, ok := e.user()
		return userOr(e, u.Name, ok, "root")
	})
	r["user.homedir"] = strF(func(e *Env) (string, bool) {
		u, ok := e.user()
		return userOr(e, u.Home, ok, "/root")
	})
	r["user.shell"] = strF(func(e *Env) (string, bool) {
		u, ok := e.user()
		return userOr(e, u.Shell, ok, "<NA>")
	})
	r["user.loginuid"] = thInt(func(th *state.Thread) int64 { return th.LoginUID() })
	r["user.loginname"] = strF(func(e *Env) (string, bool) {
		th := e.thread()
		if th == nil || e.deps.Users == nil {
			return "", false
		}
		// As Falco: the login user's name, "root" for login uid 0
		// without a passwd entry, else the string <NA> (a value, not a
		// missing field: JSON shows "<NA>", not null).
		if u, ok := e.deps.Users.ThreadLoginUser(th); ok {
			return u.Name, true
		}
		if th.LoginUID() == 0 {
			return "root", true
		}
		return "<NA>", true
	})
	r["group.gid"] = thUint(func(th *state.Thread) uint64 { return uint64(th.Creds.EGID) })
	r["group.name"] = strF(func(e *Env) (string, bool) {
		th := e.thread()
		if th == nil || e.deps.Users == nil {
			return "", false
		}
		g, ok := e.deps.Users.Group(th.Proc().ContainerID, th.Pid(), th.Creds.EGID)
		return g.Name, ok
	})
}

// userOr returns a user field as Falco does when the user is unknown:
// root's value for uid 0, else <NA>; missing only without a thread.
func userOr(e *Env, v string, ok bool, root string) (string, bool) {
	if ok {
		return v, true
	}
	th := e.thread()
	if th == nil || e.deps.Users == nil {
		return "", false
	}
	if th.Creds.EUID == 0 {
		return root, true
	}
	return "<NA>", true
}
