package main

import (
	"fmt"
	"sync"

	"github.com/deluge-go/deluge/llm"
)

// jsonlRun is what 'deluge run' and 'deluge embed' share while they turn
// input lines into result lines: the output, the summary and its progress
// display, the interrupts, and what stopped the run.
type jsonlRun struct {
	out *resultWriter
	sum *summary
	bar *lineProgress
	in  *interrupts

	// Set by the goroutine reading the input; read once the results end.
	readErr  error // why reading stopped early, nil at EOF
	lastLine int   // the last line read

	// mu guards sum, bar and fatal, which the reader and the consumer of
	// results both update.
	mu    sync.Mutex
	fatal error

	// configFails counts the first results, all failed in a way no retry
	// can fix; -1 once one did not (consumer only).
	configFails int
}

// count updates the summary and the progress display for one line.
func (l *jsonlRun) count(f func(*summary)) {
	l.mu.Lock()
	f(l.sum)
	l.bar.update(1, l.sum)
	l.mu.Unlock()
}

// setFatal ends the run: nothing new is sent, and with abandon the
// requests in flight are abandoned too (their results could not be
// written). The first fatal error is the one reported.
func (l *jsonlRun) setFatal(err error, abandon bool) {
	l.mu.Lock()
	if l.fatal == nil {
		l.fatal = err
	}
	l.mu.Unlock()
	l.in.cancelDispatch()
	if abandon {
		l.in.cancelWork()
	}
}

// noteConfigFailure stops the run when its first results (what names
// them: "requests", "inputs") all fail in a way no retry can fix.
func (l *jsonlRun) noteConfigFailure(err error, what string) {
	if l.configFails < 0 {
		return
	}
	switch llm.CodeOf(err) {
	case llm.CodeAuthentication, llm.CodePermissionDenied, llm.CodeNotFound, llm.CodeConfiguration:
		l.configFails++
	default:
		l.configFails = -1
		return
	}
	if l.configFails == configFailureLimit {
		hint := credentialsHint(providerOfErr(err))
		if llm.CodeOf(err) == llm.CodeNotFound {
			hint = notFoundHint(err)
		}
		l.setFatal(usageErrorf("stopped: the first %d %s all failed with %q: %v\n%s",
			l.configFails, what, llm.CodeOf(err), err, hint), false)
	}
}

// finish closes the output, prints the summary, and returns the run's
// error: what stopped it, an output or an input (named by the -i argument)
// that failed, or the exit code of its results.
func (l *jsonlRun) finish(u *ui, input string) error {
	l.bar.finish(l.sum)
	closeErr := l.out.Close()
	if l.readErr != nil {
		u.warnf("reading %s stopped at line %d: %v", inputName(input), l.lastLine, l.readErr)
	}
	if !u.quiet {
		l.sum.render(u.console, u)
	}
	l.mu.Lock()
	fatal := l.fatal
	l.mu.Unlock()
	switch {
	case fatal != nil:
		return fatal
	case closeErr != nil:
		return usageError(closeErr)
	case l.readErr != nil:
		return usageError(fmt.Errorf("input %s could not be read to the end; rerun to finish", inputName(input)))
	}
	if code := l.sum.exitCode(); code != exitOK {
		return silentExit(code)
	}
	return nil
}
