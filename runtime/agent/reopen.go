package agent

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// watchReopen makes the outputs reopen their files on SIGHUP (beside the
// rule reload) and on SIGUSR1, as Falco does, so that logrotate can move
// file_output's file away. It stops with ctx.
func (a *Agent) watchReopen(ctx context.Context) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGUSR1)
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
				a.opts.Outputs.Reopen()
			}
		}
	}()
}
