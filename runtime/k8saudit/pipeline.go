package k8saudit

import (
	"context"
	"fmt"

	"github.com/falcoc/falcoc/compiler/artifact"
	"github.com/falcoc/falcoc/compiler/catalog"
	"github.com/falcoc/falcoc/runtime/engine"
)

// Pipeline evaluates the k8s_audit rules of an artifact on audit events:
// its own VM (an [engine.Source]) and its own field extraction. It is not
// safe for concurrent use: one goroutine calls [Pipeline.Process] or
// [Pipeline.Run]; [Pipeline.Stats] may be called from any goroutine.
type Pipeline struct {
	src  *engine.Source
	env  *Env
	xenv *Env
}

// NewPipeline builds a pipeline for art's enabled k8s_audit rules.
// opts.Source is set to k8s_audit.
func NewPipeline(art *artifact.Artifact, opts engine.SourceOptions, envOpts EnvOptions) (*Pipeline, error) {
	opts.Source = catalog.SourceK8sAudit
	if envOpts.Hostname == "" {
		envOpts.Hostname = opts.Hostname
	}
	src, err := engine.NewSource(art, opts)
	if err != nil {
		return nil, fmt.Errorf("k8s audit: %w", err)
	}
	env, err := NewEnv(art.Consts.Fields, envOpts)
	if err != nil {
		return nil, fmt.Errorf("k8s audit: %w", err)
	}
	p := &Pipeline{src: src, env: env}
	if x := opts.Extras; x != nil && x.Consts != nil && len(x.List) > 0 {
		if p.xenv, err = NewEnv(x.Consts.Fields, envOpts); err != nil {
			return nil, fmt.Errorf("k8s audit: append_output: %w", err)
		}
	}
	return p, nil
}

// HasRules reports whether art has an enabled rule of source k8s_audit.
func HasRules(art *artifact.Artifact) bool {
	if art == nil {
		return false
	}
	for i := range art.Rules {
		if r := &art.Rules[i]; r.Enabled && r.Source == catalog.SourceK8sAudit {
			return true
		}
	}
	return false
}

// Process evaluates the rules on one event.
func (p *Pipeline) Process(ev *Event) {
	p.env.Reset(ev)
	if p.xenv != nil {
		p.xenv.Reset(ev)
		p.src.Process(ev.Time, p.env, p.xenv)
		return
	}
	p.src.Process(ev.Time, p.env, nil)
}

// Run processes the batches of q until ctx is done, then the batches
// already queued, and returns.
func (p *Pipeline) Run(ctx context.Context, q <-chan []*Event) {
	for {
		select {
		case evs := <-q:
			for _, ev := range evs {
				p.Process(ev)
			}
		case <-ctx.Done():
			for {
				select {
				case evs := <-q:
					for _, ev := range evs {
						p.Process(ev)
					}
				default:
					return
				}
			}
		}
	}
}

// Stats returns the rule evaluation counters.
func (p *Pipeline) Stats() engine.Stats { return p.src.Stats() }
