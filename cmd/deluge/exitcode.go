package main

import (
	"errors"
	"fmt"
)

// Exit codes. They are part of the CLI's contract (docs/cli.md).
const (
	// exitOK: every prompt succeeded (or was already done).
	exitOK = 0
	// exitFailures: the run finished but some prompts failed; their error
	// results are in the output file and a rerun retries them.
	exitFailures = 1
	// exitUsage: the command line or the configuration is wrong (bad flag,
	// unknown model, missing credentials, unreadable input, unwritable
	// output); nothing was sent.
	exitUsage = 2
	// exitInterrupted: SIGINT or SIGTERM stopped the run early (128+SIGINT,
	// as shells report it); rerun the same command to finish.
	exitInterrupted = 130
)

// exitError carries an exit code out of a command. A nil err means the
// message was already printed (the summary says what failed).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError reports a usage or configuration problem (exit code 2).
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// usageErrorf formats a usage or configuration problem (exit code 2).
func usageErrorf(format string, args ...any) error {
	return usageError(fmt.Errorf(format, args...))
}

// silentExit ends the command with code without printing anything more.
func silentExit(code int) error { return &exitError{code: code} }

// exitCodeOf maps a command's error to the process exit code. Errors that
// are not an *exitError come from cobra itself (unknown command or flag) and
// are usage errors.
func exitCodeOf(err error) int {
	if err == nil {
		return exitOK
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return exitUsage
}
