package rules

import (
	"runtime"
	"sync/atomic"

	"github.com/falcoc/falcoc/compiler/syntax"
)

// condMaxDepth is the nesting limit of macro and rule conditions.
const condMaxDepth = 1000

// parseWorkers is the number of goroutines that substitute lists into
// and parse the conditions ahead of the sequential loop; 1 or less parses
// each condition in the loop. Tests change it.
var parseWorkers = func() int { return runtime.GOMAXPROCS(0) }

// condJob is the list substitution and the parse of one macro or rule
// condition. The parse is the larger part of a load (participle), and
// each condition's depends only on its text, so workers do them in
// parallel, in the loop's order; the loop (compileMacros, compileRule)
// takes the results in order and does everything that is numbered or
// reported: it marks the lists used, gives the condition its origin
// (syntax.SetOrigin on the tree the worker parsed with origin 0), and
// parses a failed condition again to report its error as before.
type condJob struct {
	src   mtext         // the condition before list substitution
	ready chan struct{} // closed when a worker is done; nil: the loop does the work

	text     mtext       // src with the lists substituted
	lists    []*listInfo // the lists that occur, in definition order
	expr     syntax.Expr // the parse of text, origin 0
	err      error       // the parse error
	panicV   any         // a worker's panic, raised again in the loop
	panicked bool        // the worker panicked
}

// startParses makes the jobs of every macro and rule condition and, with
// more than one worker, starts the workers. It runs after compileLists,
// whose results the workers read.
func (l *loader) startParses() {
	var all []*condJob
	l.macroJobs = make([]*condJob, len(l.macroOrder))
	for i, m := range l.macroOrder {
		l.macroJobs[i] = &condJob{src: m.cond}
		all = append(all, l.macroJobs[i])
	}
	l.ruleJobs = make([]*condJob, len(l.ruleOrder))
	for i, r := range l.ruleOrder {
		if !knownSources[r.source] {
			continue // compileRule neither substitutes nor parses it
		}
		l.ruleJobs[i] = &condJob{src: withExceptions(r.cond, r.exceptions)}
		all = append(all, l.ruleJobs[i])
	}
	n := min(parseWorkers(), len(all))
	if n <= 1 {
		return
	}
	for _, j := range all {
		j.ready = make(chan struct{})
	}
	var next atomic.Int64
	for range n {
		go func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(all)) {
					return
				}
				l.run(all[i])
			}
		}()
	}
}

// run substitutes and parses the condition of j, in a worker.
func (l *loader) run(j *condJob) {
	defer close(j.ready)
	defer func() {
		if r := recover(); r != nil {
			j.panicked, j.panicV = true, r
		}
	}()
	j.text, j.lists = l.substitute(j.src)
	j.expr, j.err = syntax.Parse(j.text.s, &syntax.Options{MaxDepth: condMaxDepth})
}

// wait waits for the worker doing j; a worker's panic is raised again
// here, where Load recovers it.
func (l *loader) wait(j *condJob) {
	<-j.ready
	if j.panicked {
		panic(j.panicV)
	}
}
